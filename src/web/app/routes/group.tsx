import { ChevronRight } from "lucide-react";
import { Link, useNavigate, useParams } from "react-router";
import { SkeletonLine } from "../../components/ui/skeleton.js";
import { Tabs, TabsContent, TabsLineList, TabsLineTrigger } from "../../components/ui/tabs.js";
import { GroupBilling } from "../../features/billing/components/group-billing.js";
import { useGroup } from "../../features/groups/api/get-group.js";
import { GroupOverviewCard } from "../../features/groups/components/group-overview-card.js";
import { WebsiteLogo } from "../../features/groups/components/website-logo.js";
import { WebsitesList } from "../../features/groups/components/websites-list.js";

type GroupTab = "overview" | "billing";

const SHARED_CREDITS_SENTENCE = "Credits bought here are shared by every website in this group.";

function GroupPage({ tab }: { tab: GroupTab }) {
  const { groupId = "" } = useParams();
  const navigate = useNavigate();
  const group = useGroup(groupId);
  const base = `/groups/${encodeURIComponent(groupId)}`;

  return (
    <div className="flex flex-col gap-6">
      <nav aria-label="Breadcrumb" className="flex h-5 min-w-0 items-center gap-1.5 text-sm text-muted-foreground">
        {group.data ? (
          <>
            <Link
              to={`/orgs/${encodeURIComponent(group.data.orgId)}/groups`}
              className="rounded-sm hover:text-foreground focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none"
            >
              Groups
            </Link>
            <ChevronRight className="size-3.5 shrink-0" aria-hidden="true" />
            <span className="truncate text-foreground" aria-current="page">
              {group.data.name}
            </span>
          </>
        ) : group.isPending ? (
          <SkeletonLine className="h-5" barClassName="h-3.5 w-48" />
        ) : (
          <Link to="/" className="rounded-sm hover:text-foreground">
            Groups
          </Link>
        )}
      </nav>
      <Tabs value={tab} onValueChange={(value) => void navigate(value === "billing" ? `${base}/billing` : base)}>
        <TabsLineList aria-label="Group sections">
          <TabsLineTrigger value="overview">Overview</TabsLineTrigger>
          <TabsLineTrigger value="billing">Billing</TabsLineTrigger>
        </TabsLineList>
        <TabsContent value="overview" className="mt-6 flex flex-col gap-6">
          <header>
            {group.data ? (
              <h1 className="text-2xl leading-8 font-semibold tracking-tight">{group.data.name}</h1>
            ) : (
              <SkeletonLine className="h-8" barClassName="h-7 w-56" />
            )}
          </header>
          <WebsitesList groupId={groupId} />
        </TabsContent>
        <TabsContent value="billing" className="mt-6">
          <GroupBilling
            groupId={groupId}
            overview={<GroupOverviewCard groupId={groupId} description={SHARED_CREDITS_SENTENCE} />}
            renderWebsiteLogo={({ websiteId, name }) => (
              <WebsiteLogo website={group.data?.websites.find((w) => w.id === websiteId) ?? { id: websiteId, name, url: "", iconUrl: null }} />
            )}
          />
        </TabsContent>
      </Tabs>
    </div>
  );
}

export function GroupOverviewRoute() {
  return <GroupPage tab="overview" />;
}

export function GroupBillingRoute() {
  return <GroupPage tab="billing" />;
}
