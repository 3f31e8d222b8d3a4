import { useRef } from "react";
import { Loader2, WalletCards } from "lucide-react";
import { Button } from "../../../components/ui/button.js";
import { useEnableBilling } from "../api/enable-billing.js";
import { NoticeCard } from "../../../components/ui/notice-card.js";

export function EnableBillingCard({ groupId }: { groupId: string }) {
  const enable = useEnableBilling(groupId);
  // A double click reaches the handler twice before the button is disabled: one request.
  const sent = useRef(false);
  const start = () => {
    if (sent.current) return;
    sent.current = true;
    enable.mutate(undefined, { onError: () => (sent.current = false) });
  };
  return (
    <NoticeCard icon={<WalletCards aria-hidden="true" />} title="Group billing not enabled">
      <p>Enable billing to buy credits that every website in this group can share once its own credits run out.</p>
      <Button className="mt-6" onClick={start} disabled={enable.isPending}>
        {enable.isPending ? <Loader2 className="animate-spin" aria-hidden="true" /> : null}
        Enable Billing
      </Button>
      {enable.isError ? (
        <p role="alert" className="mt-3 text-destructive">
          {enable.error.message}
        </p>
      ) : null}
    </NoticeCard>
  );
}
