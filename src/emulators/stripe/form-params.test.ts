import { describe, expect, it } from "vitest";
import { parseFormParams } from "./form-params.js";

describe("parseFormParams", () => {
  it("reads Stripe's bracket notation into nested objects and arrays", () => {
    const encoded = [
      "mode=subscription",
      "metadata[groupId]=grp_1",
      "line_items[0][price_data][currency]=usd",
      "line_items[0][price_data][unit_amount]=1500",
      "line_items[0][price_data][product_data][name]=Credits%20%26%20more",
      "line_items[0][price_data][recurring][interval]=month",
      "line_items[0][quantity]=2",
      "expand[0]=subscription",
      "expand[1]=customer",
    ].join("&");
    expect(parseFormParams(encoded)).toEqual({
      mode: "subscription",
      metadata: { groupId: "grp_1" },
      line_items: [
        {
          price_data: { currency: "usd", unit_amount: "1500", product_data: { name: "Credits & more" }, recurring: { interval: "month" } },
          quantity: "2",
        },
      ],
      expand: ["subscription", "customer"],
    });
  });

  it("accepts empty brackets and percent-encoded brackets", () => {
    expect(parseFormParams("expand[]=a&expand[]=b&items%5B0%5D%5Bid%5D=si_1")).toEqual({
      expand: ["a", "b"],
      items: [{ id: "si_1" }],
    });
  });
});
