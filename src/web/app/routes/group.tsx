import { Ban, ChevronRight, SearchX } from "lucide-react";
import { Link, useNavigate, useParams } from "react-router";
import { Button } from "../../components/ui/button.js";
import { NoticeCard } from "../../components/ui/notice-card.js";
import { SkeletonLine } from "../../components/ui/skeleton.js";
import { Tabs, TabsContent, TabsLineList, TabsLineTrigger } from "../../components/ui/tabs.js";
import { GroupBilling } from "../../features/billing/components/group-billing.js";
import { useGroup } from "../../features/groups/api/get-group.js";
import { GroupOverviewCard } from "../../features/groups/components/group-overview-card.js";
import { WebsiteLogo } from "../../features/groups/components/website-logo.js";
import { WebsitesList } from "../../features/groups/components/websites-list.js";
import { isApiError } from "../../lib/api-client.js";
import { isUuid } from "../../lib/ids.js";

type GroupTab = "overview" | "billing";

const SHARED_CREDITS_SENTENCE = "Credits bought here are shared by every website in this group.";

/** The page in place of a group that is not there for this user: no tabs, no billing, no offer. */
function GroupUnavailable({ reason }: { reason: "not_found" | "forbidden" }) {
  return (
    <div className="flex flex-col gap-6 pt-4 sm:pt-10">
      {reason === "forbidden" ? (
        <NoticeCard icon={<Ban aria-hidden="true" />} title="Billing is available to admins only">
          <p>Ask an organization admin or an admin of this group to manage its credits.</p>
          <GoToGroups />
        </NoticeCard>
      ) : (
        <NoticeCard icon={<SearchX aria-hidden="true" />} title="Group not found">
          <p>This group does not exist, or it belongs to an organization you are not a member of.</p>
          <GoToGroups />
        </NoticeCard>
      )}
    </div>
  );
}

function GoToGroups() {
  return (
    <Button variant="secondary" className="mt-5" asChild>
      <Link to="/">Go to your groups</Link>
    </Button>
  );
}

function GroupPage({ tab }: { tab: GroupTab }) {
  const { groupId = "" } = useParams();
  const validId = isUuid(groupId);
  const navigate = useNavigate();
  const group = useGroup(validId ? groupId : undefined);
  const base = `/groups/${encodeURIComponent(groupId)}`;

  if (!validId) return <GroupUnavailable reason="not_found" />;
  if (group.isError && isApiError(group.error)) {
    if (group.error.status === 403) return <GroupUnavailable reason="forbidden" />;
    if (group.error.status === 404 || group.error.status === 400) return <GroupUnavailable reason="not_found" />;
  }

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
