/** The Add group credits dialog's form: type, quantity, the price or the plan raise's preview, and the purchase. */
import { useId, useRef, useState } from "react";
import { Loader2, Minus, Plus } from "lucide-react";
import type { BillingSummary, PurchaseBody, PurchasePreview, PurchaseType } from "../../../../contracts/billing.js";
import { Button } from "../../../components/ui/button.js";
import {
  DialogClose,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "../../../components/ui/dialog.js";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "../../../components/ui/tabs.js";
import { toast } from "../../../components/ui/toast.js";
import { formatDate, formatMoney, formatNumber, pluralize } from "../../../lib/format.js";
import { ApiError, isApiError } from "../../../lib/api-client.js";
import { useQueryParams } from "../../../lib/query-params.js";
import { randomId } from "../../../lib/random-id.js";
import { useCreatePurchase } from "../api/create-purchase.js";
import { usePurchasePreview } from "../api/preview-purchase.js";

type AddCreditsFormProps = { groupId: string; billing: BillingSummary; onDone: () => void };

export function AddCreditsForm({ groupId, billing, onDone }: AddCreditsFormProps) {
  const { pricing, credits, plan } = billing;
  const [type, setType] = useState<PurchaseType>("one_time");
  const [quantity, setQuantity] = useState<number>(pricing.minQuantity);
  // What the quantity field shows while the user types; `quantity` is the last valid value.
  const [draft, setDraft] = useState<string>(String(pricing.minQuantity));
  const [quantityNote, setQuantityNote] = useState<string | null>(null);
  const quantityNoteId = useId();
  const [redirecting, setRedirecting] = useState(false);
  // Set synchronously on the first click, so a double-click sends one request, not two.
  const inFlight = useRef(false);
  // One key per opening; a retry of the same purchase reuses it, a changed purchase gets a new one.
  const idempotency = useRef<{ key: string; body: string | null }>({ key: randomId(), body: null });
  const purchase = useCreatePurchase(groupId);
  const [, updateParams] = useQueryParams();

  const price = type === "monthly" ? pricing.monthly : pricing.oneTime;
  const totalCredits = quantity * pricing.creditsPerPackage;
  const totalCost = { amount: price.amount * quantity, currency: price.currency };
  const balance = (credits.monthly?.remaining ?? 0) + (credits.oneTime?.remaining ?? 0);
  // Buying monthly packages while a plan runs raises it and charges the saved card at once (no
  // Checkout): the server's preview says what is charged today and the plan's new price, and the
  // purchase carries that amount as `expectedDueNow` (409 if it changed meanwhile).
  const raisesPlan = type === "monthly" && plan !== null;
  const preview = usePurchasePreview({ groupId, type, quantity, enabled: raisesPlan && draft === String(quantity) });
  const previewReady = !raisesPlan || preview.data !== undefined;
  const working = purchase.isPending || redirecting;
  const draftValid = draft === String(quantity);
  const range = `from ${pricing.minQuantity} to ${pricing.maxQuantity}`;

  function changeQuantity(next: number) {
    purchase.reset();
    const clamped = Math.min(pricing.maxQuantity, Math.max(pricing.minQuantity, next));
    setQuantity(clamped);
    setDraft(String(clamped));
    setQuantityNote(null);
  }

  /** Typing: a whole number in range is taken at once; anything else is explained and waits for blur. */
  function typeQuantity(text: string) {
    purchase.reset();
    setDraft(text);
    const trimmed = text.trim();
    if (!/^\d+$/.test(trimmed)) {
      setQuantityNote(`Enter a whole number of packages, ${range}.`);
      return;
    }
    const value = Number(trimmed);
    if (value < pricing.minQuantity) setQuantityNote(`The least you can add is ${pricing.minQuantity} package.`);
    else if (value > pricing.maxQuantity) setQuantityNote(`You can add at most ${pricing.maxQuantity} packages at a time.`);
    else {
      setQuantity(value);
      setQuantityNote(null);
      setDraft(String(value));
    }
  }

  /** Leaving the field: an out-of-range number is clamped (and says so); anything else goes back to the last valid quantity. */
  function settleQuantity() {
    if (draftValid) return;
    const trimmed = draft.trim();
    if (/^\d+$/.test(trimmed)) {
      const clamped = Math.min(pricing.maxQuantity, Math.max(pricing.minQuantity, Number(trimmed)));
      setQuantity(clamped);
      setDraft(String(clamped));
      setQuantityNote(
        Number(trimmed) > pricing.maxQuantity
          ? `Set to ${pricing.maxQuantity}, the most you can add at a time.`
          : `Set to ${pricing.minQuantity}, the least you can add.`,
      );
    } else {
      setDraft(String(quantity));
      setQuantityNote(null);
    }
  }

  async function confirm() {
    if (inFlight.current || !draftValid) return;
    inFlight.current = true;
    if (raisesPlan && !preview.data) return;
    const body: PurchaseBody = raisesPlan && preview.data ? { type, quantity, expectedDueNow: preview.data.dueNow.amount } : { type, quantity };
    const serialized = JSON.stringify(body);
    if (idempotency.current.body !== null && idempotency.current.body !== serialized) {
      idempotency.current.key = randomId();
    }
    idempotency.current.body = serialized;
    try {
      const result = await purchase.mutateAsync({ body, idempotencyKey: idempotency.current.key });
      if (result.status === "redirect") {
        setRedirecting(true);
        window.location.assign(result.url);
        return; // stays in flight: the page is leaving for Checkout
      }
      onDone();
      if (result.status === "pending") {
        toast({ tone: "info", title: "Payment processing", description: "The credits appear here once the payment is confirmed." });
        // The page watches the purchase until it settles and says how it ended (checkout-return.tsx).
        updateParams({ purchase: result.purchaseId });
        return;
      }
      toast({
        tone: "success",
        title: `Added ${formatNumber(result.credits)} credits`,
        description: type === "monthly" ? "Your monthly group credits are active." : "The credits are ready for every website in this group.",
      });
      inFlight.current = false;
    } catch (error) {
      // The error is shown inside the dialog from the mutation state; the user may try again.
      // A decline is a final answer that the server replays for its key (as Stripe does), so trying
      // again after one is a new attempt with a new key; after an unknown outcome the key is kept.
      if (error instanceof ApiError && error.code === "payment_failed") idempotency.current.key = randomId();
      // The price changed since the preview: show the new one; confirming again is a new purchase.
      if (error instanceof ApiError && error.code === "conflict" && raisesPlan) {
        idempotency.current.key = randomId();
        void preview.refetch();
      }
      inFlight.current = false;
    }
  }

  return (
    <>
      <DialogHeader>
        <DialogTitle>Add group credits</DialogTitle>
        <DialogDescription>
          Current balance: <span className="font-medium text-foreground tabular-nums">{formatNumber(balance)}</span> credits
        </DialogDescription>
      </DialogHeader>

      <Tabs
        value={type}
        onValueChange={(value) => {
          purchase.reset();
          setType(value === "monthly" ? "monthly" : "one_time");
          // A note about the quantity typed before belongs to that moment, not to the other tab.
          setDraft(String(quantity));
          setQuantityNote(null);
        }}
      >
        <TabsList aria-label="Purchase type">
          {/* The form mounts after the dialog has placed its focus (on ✕, while this code loaded): the dialog starts here. */}
          <TabsTrigger value="one_time" disabled={working} autoFocus>
            One-time
          </TabsTrigger>
          <TabsTrigger value="monthly" disabled={working}>
            Monthly
          </TabsTrigger>
        </TabsList>
        {(["one_time", "monthly"] as const).map((value) => (
          <TabsContent key={value} value={value} className="mt-5 grid gap-5">
            <div className="flex flex-col items-center">
              <div className="flex items-center gap-4">
                <Button
                  variant="secondary"
                  size="icon"
                  aria-label="Decrease quantity"
                  disabled={working || quantity <= pricing.minQuantity}
                  onClick={() => changeQuantity(quantity - 1)}
                >
                  <Minus aria-hidden="true" />
                </Button>
                <input
                  type="text"
                  inputMode="numeric"
                  autoComplete="off"
                  aria-label="Packages"
                  aria-invalid={draftValid ? undefined : true}
                  aria-describedby={quantityNote ? quantityNoteId : undefined}
                  disabled={working}
                  value={draft}
                  onChange={(event) => typeQuantity(event.target.value)}
                  onBlur={settleQuantity}
                  onKeyDown={(event) => {
                    if (event.key === "ArrowUp") {
                      event.preventDefault();
                      changeQuantity(quantity + 1);
                    } else if (event.key === "ArrowDown") {
                      event.preventDefault();
                      changeQuantity(quantity - 1);
                    } else if (event.key === "Enter") {
                      event.preventDefault();
                      settleQuantity();
                    }
                  }}
                  className="h-12 w-20 rounded-md border border-transparent bg-transparent text-center text-3xl leading-9 font-semibold tabular-nums hover:border-input focus-visible:border-input focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none aria-[invalid=true]:border-destructive"
                />
                <Button
                  variant="secondary"
                  size="icon"
                  aria-label="Increase quantity"
                  disabled={working || quantity >= pricing.maxQuantity}
                  onClick={() => changeQuantity(quantity + 1)}
                >
                  <Plus aria-hidden="true" />
                </Button>
              </div>
              <p className="mt-1.5 text-sm text-muted-foreground">packages of {formatNumber(pricing.creditsPerPackage)} credits</p>
              {quantityNote ? (
                <p id={quantityNoteId} role="status" className={`mt-1 text-center text-sm ${draftValid ? "text-muted-foreground" : "text-destructive"}`}>
                  {quantityNote}
                </p>
              ) : null}
            </div>

            {value === "monthly" && plan !== null ? (
              <PlanRaiseSummary
                plan={plan}
                partner={billing.customerType === "partner"}
                pricePerPackage={pricing.monthly}
                preview={preview.data}
                loading={preview.isPending}
                failed={preview.isError ? preview.error : null}
              />
            ) : (
              <dl className="grid gap-2 rounded-lg border bg-zinc-50 p-4 text-sm">
                <div className="flex justify-between gap-4">
                  <dt className="text-muted-foreground">Total credits</dt>
                  <dd className="font-medium tabular-nums">{formatNumber(totalCredits)}</dd>
                </div>
                <div className="flex justify-between gap-4">
                  <dt className="text-muted-foreground">Price per package</dt>
                  <dd className="tabular-nums">{formatMoney(price)}</dd>
                </div>
                <div className="flex justify-between gap-4 border-t pt-2">
                  <dt className="font-medium">Total cost</dt>
                  <dd className="font-semibold tabular-nums">
                    {formatMoney(totalCost)}
                    {value === "monthly" ? <span className="font-normal text-muted-foreground"> per month</span> : null}
                  </dd>
                </div>
              </dl>
            )}
          </TabsContent>
        ))}
      </Tabs>

      {purchase.isError ? (
        <p role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
          {raisesPlan && isApiError(purchase.error) && purchase.error.code === "conflict" && purchase.error.message.startsWith("The price changed") ? (
            "The price changed since you opened this. Check the new amounts above and confirm again."
          ) : (
            <ErrorText error={purchase.error} />
          )}
        </p>
      ) : null}

      <DialogFooter>
        <DialogClose asChild>
          <Button variant="secondary" disabled={redirecting}>
            Cancel
          </Button>
        </DialogClose>
        <Button onClick={() => void confirm()} disabled={working || !draftValid || !previewReady}>
          {working ? <Loader2 className="animate-spin" aria-hidden="true" /> : null}
          Add {formatNumber(totalCredits)} Credits
        </Button>
      </DialogFooter>
    </>
  );
}

type PlanRaiseSummaryProps = {
  plan: NonNullable<BillingSummary["plan"]>;
  /** Partner customers are charged on their partner account, not a card. */
  partner: boolean;
  pricePerPackage: BillingSummary["pricing"]["monthly"];
  preview: PurchasePreview | undefined;
  loading: boolean;
  failed: Error | null;
};

/**
 * An error's message; a past-due plan's 409 instead says what to do, with its unpaid invoice's link
 * (Stripe's hosted invoice page, or the partner portal) rather than the address as text.
 */
function ErrorText({ error }: { error: Error }) {
  const invoiceUrl = isApiError(error) ? error.details.hostedInvoiceUrl : undefined;
  if (typeof invoiceUrl !== "string") return error.message;
  return (
    <>
      Your plan has an unpaid invoice. Pay it before adding monthly packages.{" "}
      <a href={invoiceUrl} target="_blank" rel="noopener noreferrer" className="font-medium underline underline-offset-2">
        Pay the unpaid invoice
      </a>
    </>
  );
}

/** What raising the plan does, from the server's preview: the new monthly price and what is charged today. */
function PlanRaiseSummary({ plan, partner, pricePerPackage, preview, loading, failed }: PlanRaiseSummaryProps) {
  if (failed) {
    // A 409 is the plan's state (past due, being renewed), not a failure to price.
    return (
      <p role="alert" className="rounded-lg border border-red-200 bg-red-50 p-4 text-sm text-red-800">
        {isApiError(failed) && failed.code === "conflict" ? <ErrorText error={failed} /> : `We could not work out the price: ${failed.message}`}
      </p>
    );
  }
  if (loading || !preview?.plan || !preview.recurring) {
    return (
      <div className="grid gap-2 rounded-lg border bg-zinc-50 p-4 text-sm" aria-busy="true">
        <span className="sr-only" role="status">
          Working out the price
        </span>
        <div className="h-5 w-3/4 animate-pulse rounded bg-zinc-200" />
        <div className="h-5 w-1/2 animate-pulse rounded bg-zinc-200" />
        <div className="mt-1 h-5 w-full animate-pulse rounded bg-zinc-200" />
      </div>
    );
  }
  const { fromPackages, toPackages } = preview.plan;
  const resumes = plan.status === "canceling";
  return (
    <div className="grid gap-3 rounded-lg border bg-zinc-50 p-4 text-sm">
      <dl className="grid gap-2">
        <div className="flex justify-between gap-4">
          <dt className="text-muted-foreground">Credits added now</dt>
          <dd className="font-medium tabular-nums">{formatNumber(preview.credits)}</dd>
        </div>
        <div className="flex justify-between gap-4">
          <dt className="text-muted-foreground">Price per package</dt>
          <dd className="tabular-nums">{formatMoney(pricePerPackage)} / month</dd>
        </div>
        <div className="flex justify-between gap-4">
          <dt className="text-muted-foreground">New plan</dt>
          <dd className="tabular-nums">
            {pluralize(toPackages, "package")} · {formatMoney(preview.recurring)} / month
          </dd>
        </div>
        <div className="flex justify-between gap-4 border-t pt-2">
          <dt className="font-medium">Due today</dt>
          <dd className="font-semibold tabular-nums">{formatMoney(preview.dueNow)}</dd>
        </div>
      </dl>
      <p className="text-sm leading-5 text-muted-foreground" data-testid="plan-raise-confirmation">
        Your plan goes from {fromPackages} to {toPackages} packages: {formatMoney(preview.recurring)} / month
        {resumes ? " and renews again" : ""}. {formatMoney(preview.dueNow)} is charged today {partner ? "to your partner account" : "to the card on file"} for this period, which ends{" "}
        {formatDate(plan.currentPeriodEnd)}.
      </p>
    </div>
  );
}
