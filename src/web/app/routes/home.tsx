import { Navigate } from "react-router";
import { Card } from "../../components/ui/card.js";
import { useOrgs } from "../../features/groups/api/get-orgs.js";

/** "/" goes to the first organization's groups. */
export function HomeRoute() {
  const orgs = useOrgs();
  const first = orgs.data?.orgs[0];
  if (first) return <Navigate to={`/orgs/${encodeURIComponent(first.id)}/groups`} replace />;
  if (orgs.data) {
    return <Card className="px-6 py-10 text-center text-sm text-muted-foreground">You are not a member of any organization.</Card>;
  }
  return null;
}
