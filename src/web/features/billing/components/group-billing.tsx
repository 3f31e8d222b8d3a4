import type { ReactNode } from "react";
import { Ban, CloudOff, ExternalLink, SearchX } from "lucide-react";
import { Button } from "../../../components/ui/button.js";
import { isApiError } from "../../../lib/api-client.js";
import { useBillingSummary } from "../api/get-billing-summary.js";
import { AddCreditsDialog } from "./add-credits-dialog.js";
import { BillingHeader, BillingHeaderSkeleton } from "./billing-header.js";
import { BillingHistory } from "./billing-history.js";
import { CheckoutReturn } from "./checkout-return.js";
import { ControlsCard } from "./controls-card.js";
import { LowBalanceBanner } from "./low-balance-banner.js";
import { CreditsRemaining, CreditsRemainingSkeleton } from "./credits-remaining.js";
import { EnableBillingCard } from "./enable-billing-card.js";
import { PlanLine } from "./plan-line.js";
import { PortalReturn } from "./portal-return.js";
import { NoticeCard } from "../../../components/ui/notice-card.js";
import { UsageSection } from "./usage-section.js";

type GroupBillingProps = {
  groupId: string;
  /** The group's overview card (name, websites), composed in by the app. */
  overview: ReactNode;
  /** A website's logo for the Usage section's top websites, composed in by the app. */
  renderWebsiteLogo: (website: { websiteId: string; name: string }) => ReactNode;
};

const DESCRIPTION_ACTIVE = "Credits shared by every website in this group. Websites use their own credits first.";
const DESCRIPTION_INACTIVE = "Buy credits once for the whole group instead of for every website.";

/** The Group Billing page body: header, overview, credits remaining, usage and billing history. */
export function GroupBilling({ groupId, overview, renderWebsiteLogo }: GroupBillingProps) {
  const billingQuery = useBillingSummary(groupId);

  if (billingQuery.isPending) {
    return (
      <div className="flex flex-col gap-6" aria-busy="true">
        <span className="sr-only" role="status">
          Loading billing
        </span>
        <BillingHeaderSkeleton />
        {overview}
        <CreditsRemainingSkeleton />
      </div>
    );
  }

  if (billingQuery.isError) {
    const error = billingQuery.error;
    return (
      <div className="flex flex-col gap-6">
        <BillingHeader title="Billing" description={DESCRIPTION_INACTIVE} />
        {isApiError(error) && error.code === "forbidden" ? (
          <NoticeCard icon={<Ban aria-hidden="true" />} title="Billing is available to admins only">
            Ask an organization admin or an admin of this group to manage its credits.
          </NoticeCard>
        ) : isApiError(error) && error.status === 404 ? (
          <NoticeCard icon={<SearchX aria-hidden="true" />} title="Group not found">
            This group does not exist or belongs to another organization.
          </NoticeCard>
        ) : (
          <NoticeCard icon={<CloudOff aria-hidden="true" />} title="Billing is unavailable right now">
            <p>We could not load this group’s billing. Your credits are not affected.</p>
            <Button variant="secondary" className="mt-4" onClick={() => void billingQuery.refetch()}>
              Try again
            </Button>
          </NoticeCard>
        )}
      </div>
    );
  }

  const billing = billingQuery.data;
  if (!billing.enabled) {
    return (
      <div className="flex flex-col gap-6">
        <BillingHeader title="Billing" description={DESCRIPTION_INACTIVE} />
        <EnableBillingCard groupId={groupId} />
      </div>
    );
  }

  const hasCredits = billing.credits.monthly !== null || billing.credits.oneTime !== null;
  const actions = (
    <>
      {billing.customerType === "partner" && billing.partnerPortalUrl ? (
        <Button variant="secondary" asChild>
          <a href={billing.partnerPortalUrl} target="_blank" rel="noopener noreferrer">
            Manage subscription
            <ExternalLink aria-hidden="true" />
          </a>
        </Button>
      ) : null}
      <AddCreditsDialog groupId={groupId} billing={billing} triggerLabel={hasCredits ? "Add More Credits" : "Add Credits"} />
    </>
  );

  return (
    <div className="flex flex-col gap-6">
      <BillingHeader title="Group credits" description={DESCRIPTION_ACTIVE} actions={actions} />
      <LowBalanceBanner groupId={groupId} billing={billing} />
      <CheckoutReturn groupId={groupId} />
      <PortalReturn groupId={groupId} />
      {overview}
      <CreditsRemaining
        credits={billing.credits}
        plan={billing.plan}
        planLine={billing.plan ? <PlanLine groupId={groupId} plan={billing.plan} customerType={billing.customerType} /> : null}
        addCredits={({ label, variant }) => <AddCreditsDialog groupId={groupId} billing={billing} triggerLabel={label} triggerVariant={variant} />}
      />
      <UsageSection
        groupId={groupId}
        monthlyPeriodEnd={billing.credits.monthly?.periodEnd ?? null}
        poolAvailable={(billing.credits.monthly?.remaining ?? 0) + (billing.credits.oneTime?.remaining ?? 0)}
        renderWebsiteLogo={renderWebsiteLogo}
      />
      <ControlsCard groupId={groupId} />
      <BillingHistory groupId={groupId} />
    </div>
  );
}
