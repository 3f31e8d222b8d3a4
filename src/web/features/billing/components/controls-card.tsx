import { useEffect, useState, type FormEvent, type ReactNode } from "react";
import { Eye, EyeOff, Loader2, Send } from "lucide-react";
import type { ControlSettings, ControlSettingsBody } from "../../../../contracts/controls.js";
import { Button } from "../../../components/ui/button.js";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "../../../components/ui/card.js";
import { Field } from "../../../components/ui/field.js";
import { Input } from "../../../components/ui/input.js";
import { Skeleton } from "../../../components/ui/skeleton.js";
import { toast } from "../../../components/ui/toast.js";
import { creditsError, parseCredits } from "../../../lib/format.js";
import { useControlSettings, useSendTestEvent, useUpdateControlSettings } from "../api/control-settings.js";

const wholeNumber = (v: string) => (v.trim() === "" ? null : /^\d+$/.test(v.trim()) ? Number(v.trim()) : NaN);

/** Controls (admins): the low-balance threshold, auto top-up and the alert webhook, each saved on its own. */
export function ControlsCard({ groupId }: { groupId: string }) {
  const settingsQuery = useControlSettings(groupId);
  return (
    <Card aria-labelledby="controls-title">
      <CardHeader>
        <CardTitle id="controls-title">Controls</CardTitle>
        <CardDescription>Hear before the pool runs dry, refill it within limits, and send alerts to your own systems. Caps per website are set from Top websites.</CardDescription>
      </CardHeader>
      <CardContent>
        {settingsQuery.data ? (
          <div className="grid gap-6 lg:grid-cols-3">
            <ThresholdForm groupId={groupId} settings={settingsQuery.data} />
            <AutoTopUpForm groupId={groupId} settings={settingsQuery.data} />
            <WebhookForm groupId={groupId} settings={settingsQuery.data} />
          </div>
        ) : settingsQuery.isError ? (
          <p className="text-sm text-muted-foreground">Controls could not be loaded right now.</p>
        ) : (
          <Skeleton className="h-40 w-full" />
        )}
      </CardContent>
    </Card>
  );
}

function Section({ title, description, onSubmit, children }: { title: string; description: string; onSubmit: (e: FormEvent) => void; children: ReactNode }) {
  return (
    <form onSubmit={onSubmit} className="flex min-w-0 flex-col gap-3 rounded-lg border p-4" aria-label={title}>
      <div>
        <h3 className="text-sm font-semibold">{title}</h3>
        <p className="text-xs leading-4 text-muted-foreground">{description}</p>
      </div>
      {children}
    </form>
  );
}

function useSave(groupId: string, what: string) {
  const update = useUpdateControlSettings(groupId);
  const save = (body: ControlSettingsBody, title = `${what} saved`) =>
    update.mutate(body, { onSuccess: () => toast({ tone: "success", title }) });
  /** A field was edited: the server's last answer was about the value it was sent, not this one. */
  const edited = () => update.reset();
  return { update, save, edited };
}

function SubmitButton({ pending, children }: { pending: boolean; children: ReactNode }) {
  return (
    <Button type="submit" variant="secondary" className="self-start" disabled={pending}>
      {pending ? <Loader2 className="animate-spin" aria-hidden="true" /> : null}
      {children}
    </Button>
  );
}

function ThresholdForm({ groupId, settings }: { groupId: string; settings: ControlSettings }) {
  const [value, setValue] = useState(settings.lowBalanceThreshold === null ? "" : String(settings.lowBalanceThreshold));
  useEffect(() => setValue(settings.lowBalanceThreshold === null ? "" : String(settings.lowBalanceThreshold)), [settings.lowBalanceThreshold]);
  const { update, save, edited } = useSave(groupId, "Low-balance threshold");
  const parsed = parseCredits(value);
  const problem = creditsError(parsed, false);
  const invalid = problem !== null;
  return (
    <Section
      title="Low-balance alert"
      description="A banner and a group.credits.low alert when the pool drops under this many credits; leave empty for none."
      onSubmit={(e) => {
        e.preventDefault();
        if (!invalid) save({ lowBalanceThreshold: parsed });
      }}
    >
      <Field id="low-threshold" label="Alert below (credits)" error={problem ?? (update.isError ? update.error.message : null)}>
        <Input id="low-threshold" inputMode="numeric" placeholder="No alert" value={value} onChange={(e) => (setValue(e.target.value), edited())} />
      </Field>
      <SubmitButton pending={update.isPending}>Save threshold</SubmitButton>
    </Section>
  );
}

function AutoTopUpForm({ groupId, settings }: { groupId: string; settings: ControlSettings }) {
  const current = settings.autoTopUp;
  const initial = () => ({
    on: current !== null,
    threshold: String(current?.threshold ?? settings.lowBalanceThreshold ?? 1000),
    packages: String(current?.packages ?? 1),
    maxPerMonth: String(current?.maxPerMonth ?? 3),
  });
  const [form, setFormState] = useState(initial);
  useEffect(() => setFormState(initial()), [current?.threshold, current?.packages, current?.maxPerMonth, current === null]);
  const { update, save, edited } = useSave(groupId, "Auto top-up");
  const setForm = (next: typeof form) => (setFormState(next), edited());
  const threshold = parseCredits(form.threshold);
  const packages = wholeNumber(form.packages);
  const maxPerMonth = wholeNumber(form.maxPerMonth);
  const errors = {
    threshold: creditsError(threshold),
    packages: packages === null || Number.isNaN(packages) || packages < 1 || packages > 50 ? "1 to 50 packages." : null,
    maxPerMonth: maxPerMonth === null || Number.isNaN(maxPerMonth) || maxPerMonth < 1 || maxPerMonth > 100 ? "1 to 100 top-ups." : null,
  };
  const invalid = form.on && Object.values(errors).some(Boolean);
  return (
    <Section
      title="Auto top-up"
      description="When the pool drops below this many credits, buys one-time packages on the saved payment method, at most so many times a month."
      onSubmit={(e) => {
        e.preventDefault();
        if (invalid) return;
        save(
          { autoTopUp: form.on ? { threshold: threshold!, packages: packages!, maxPerMonth: maxPerMonth! } : null },
          form.on ? "Auto top-up is on" : "Auto top-up is off",
        );
      }}
    >
      <label className="flex items-center gap-2 text-sm font-medium">
        <input type="checkbox" className="size-4 accent-primary" checked={form.on} onChange={(e) => setForm({ ...form, on: e.target.checked })} />
        Turn on auto top-up
      </label>
      {settings.autoTopUpDisabledReason ? <p className="text-xs text-red-700">Turned off: {settings.autoTopUpDisabledReason}</p> : null}
      <div className="grid grid-cols-3 gap-3">
        <Field id="top-up-threshold" label="Below" error={form.on ? errors.threshold : null}>
          <Input id="top-up-threshold" inputMode="numeric" disabled={!form.on} value={form.threshold} onChange={(e) => setForm({ ...form, threshold: e.target.value })} />
        </Field>
        <Field id="top-up-packages" label="Packages" error={form.on ? errors.packages : null}>
          <Input id="top-up-packages" inputMode="numeric" disabled={!form.on} value={form.packages} onChange={(e) => setForm({ ...form, packages: e.target.value })} />
        </Field>
        <Field id="top-up-max" label="Per month" error={form.on ? errors.maxPerMonth : null}>
          <Input id="top-up-max" inputMode="numeric" disabled={!form.on} value={form.maxPerMonth} onChange={(e) => setForm({ ...form, maxPerMonth: e.target.value })} />
        </Field>
      </div>
      {update.isError ? <p className="text-xs text-destructive">{update.error.message}</p> : null}
      <SubmitButton pending={update.isPending}>Save auto top-up</SubmitButton>
    </Section>
  );
}

/** What the server would refuse in a webhook URL, said in place (its own checks, e.g. private addresses, come back from it); empty is fine. */
function webhookUrlProblem(address: string): string | null {
  if (address.length > 2048) return "The webhook URL is at most 2,048 characters.";
  if (address && !/^https?:\/\/[^\s/]/i.test(address)) return "The webhook URL must start with http:// or https://.";
  return null;
}

function WebhookForm({ groupId, settings }: { groupId: string; settings: ControlSettings }) {
  const [url, setUrl] = useState(settings.alertWebhookUrl ?? "");
  useEffect(() => setUrl(settings.alertWebhookUrl ?? ""), [settings.alertWebhookUrl]);
  const [revealed, setRevealed] = useState(false);
  const { update, save, edited } = useSave(groupId, "Webhook URL");
  const test = useSendTestEvent(groupId);
  const secret = settings.webhookSigningSecret;
  const address = url.trim();
  const problem = webhookUrlProblem(address);
  return (
    <Section
      title="Alert webhook"
      description="Alerts are POSTed here as JSON, signed with Group-Billing-Signature (HMAC-SHA256 with the signing secret)."
      onSubmit={(e) => {
        e.preventDefault();
        if (!problem) save({ alertWebhookUrl: address || null });
      }}
    >
      <Field id="webhook-url" label="Webhook URL" error={problem ?? (update.isError ? update.error.message : null)}>
        <Input id="webhook-url" inputMode="url" placeholder="https://example.com/hooks/billing" value={url} onChange={(e) => (setUrl(e.target.value), edited())} />
      </Field>
      <div className="grid gap-1.5">
        <span className="text-sm leading-none font-medium">Signing secret</span>
        <div className="flex min-w-0 flex-col items-start gap-1">
          <code className="w-full rounded-md bg-muted px-2 py-1.5 font-mono text-xs break-all" data-testid="signing-secret">
            {revealed ? secret : `${secret.slice(0, 6)}${"•".repeat(16)}`}
          </code>
          <Button type="button" variant="ghost" size="sm" className="-ml-2" onClick={() => setRevealed(!revealed)}>
            {revealed ? <EyeOff aria-hidden="true" /> : <Eye aria-hidden="true" />}
            {revealed ? "Hide signing secret" : "Reveal signing secret"}
          </Button>
        </div>
      </div>
      <div className="flex flex-wrap gap-2">
        <SubmitButton pending={update.isPending}>Save webhook</SubmitButton>
        <Button
          type="button"
          variant="ghost"
          disabled={!settings.alertWebhookUrl || test.isPending}
          onClick={() =>
            test.mutate(undefined, {
              onSuccess: () => toast({ tone: "success", title: "Test event sent", description: `A test event is on its way to ${settings.alertWebhookUrl}.` }),
              onError: (err) => toast({ tone: "error", title: "Test event not sent", description: err.message }),
            })
          }
        >
          <Send aria-hidden="true" />
          Send test event
        </Button>
      </div>
    </Section>
  );
}
