import { z } from "@hono/zod-openapi";

export const CreateApiKeyBody = z
  .object({ name: z.string().trim().min(1).max(200).openapi({ example: "Production servers" }) })
  .strict()
  .openapi("CreateApiKeyBody");
export type CreateApiKeyBody = z.infer<typeof CreateApiKeyBody>;

export const ApiKeyCreated = z
  .object({ id: z.string(), name: z.string(), key: z.string() })
  .openapi("ApiKeyCreated", {
    example: { id: "5f0c2f4e-8d4f-4a59-9d1e-0b8f3c1a2b3c", name: "Production servers", key: "gbk_3q2V…" },
  });
export type ApiKeyCreated = z.infer<typeof ApiKeyCreated>;

/** A key as listed: never the key itself, only the first characters that identify it. */
export const ApiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string(),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
  })
  .openapi("ApiKey");
export type ApiKey = z.infer<typeof ApiKey>;

export const ApiKeysResponse = z.object({ apiKeys: z.array(ApiKey) }).openapi("ApiKeysResponse", {
  example: {
    apiKeys: [
      {
        id: "5f0c2f4e-8d4f-4a59-9d1e-0b8f3c1a2b3c",
        name: "Production servers",
        prefix: "gbk_3q2V",
        createdAt: "2026-11-02T09:14:00.000Z",
        lastUsedAt: "2026-11-27T08:00:00.000Z",
      },
    ],
  },
});
export type ApiKeysResponse = z.infer<typeof ApiKeysResponse>;
