import { Loader2, WalletCards } from "lucide-react";
import { Button } from "../../../components/ui/button.js";
import { useEnableBilling } from "../api/enable-billing.js";
import { NoticeCard } from "../../../components/ui/notice-card.js";

export function EnableBillingCard({ groupId }: { groupId: string }) {
  const enable = useEnableBilling(groupId);
  return (
    <NoticeCard icon={<WalletCards aria-hidden="true" />} title="Group billing not enabled">
      <p>Enable billing to buy credits that every website in this group can share once its own credits run out.</p>
      <Button className="mt-6" onClick={() => enable.mutate()} disabled={enable.isPending}>
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
