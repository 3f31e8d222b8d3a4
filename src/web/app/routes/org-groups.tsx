import { useParams } from "react-router";
import { GroupsTable } from "../../features/groups/components/groups-table.js";

export function OrgGroupsRoute() {
  const { orgId = "" } = useParams();
  return (
    <div className="flex flex-col gap-6">
      <header>
        <h1 className="text-2xl leading-8 font-semibold tracking-tight">Groups</h1>
        <p className="mt-1 text-sm leading-5 text-muted-foreground">Websites grouped together can share one pool of credits.</p>
      </header>
      <GroupsTable orgId={orgId} />
    </div>
  );
}
