import { KeyRound } from "lucide-react";
import { Link, useParams } from "react-router";
import { Button } from "../../components/ui/button.js";
import { useSession } from "../../features/auth/api/get-session.js";
import { GroupsTable } from "../../features/groups/components/groups-table.js";

export function OrgGroupsRoute() {
  const { orgId = "" } = useParams();
  const session = useSession();
  const isOrgAdmin = session.data?.memberships.some((m) => m.orgId === orgId && m.role === "org_admin") ?? false;
  return (
    <div className="flex flex-col gap-6">
      <header className="flex flex-col gap-4 sm:flex-row sm:items-start sm:justify-between">
        <div>
          <h1 className="text-2xl leading-8 font-semibold tracking-tight">Groups</h1>
          <p className="mt-1 text-sm leading-5 text-muted-foreground">Websites grouped together can share one pool of credits.</p>
        </div>
        {isOrgAdmin ? (
          <Button variant="secondary" asChild className="self-start">
            <Link to={`/orgs/${encodeURIComponent(orgId)}/api-keys`}>
              <KeyRound aria-hidden="true" />
              API keys
            </Link>
          </Button>
        ) : null}
      </header>
      <GroupsTable orgId={orgId} />
    </div>
  );
}
