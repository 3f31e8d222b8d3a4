import { Card } from "../../../components/ui/card.js";
import { SkeletonLine } from "../../../components/ui/skeleton.js";
import { useGroup } from "../api/get-group.js";
import { WebsiteLogo, websiteLabel } from "./website-logo.js";

/** The Overview tab of a group: its websites. */
export function WebsitesList({ groupId }: { groupId: string }) {
  const groupQuery = useGroup(groupId);
  if (groupQuery.isError) {
    return (
      <Card className="px-6 py-10 text-center text-sm text-muted-foreground">
        {groupQuery.error.message || "The group could not be loaded."}
      </Card>
    );
  }
  const websites = groupQuery.data?.websites;
  return (
    <Card className="overflow-hidden">
      <h2 className="border-b px-5 py-3 text-sm font-medium sm:px-6">Websites</h2>
      <ul className="divide-y">
        {websites === undefined
          ? Array.from({ length: 3 }, (_, index) => (
              <li key={index} className="flex items-center gap-3 px-5 py-3 sm:px-6">
                <div className="size-7 animate-pulse rounded-full bg-zinc-200" aria-hidden="true" />
                <SkeletonLine className="h-10 flex-1" barClassName="h-3.5 w-48" />
              </li>
            ))
          : websites.map((website) => (
              <li key={website.id} className="flex items-center gap-3 px-5 py-3 sm:px-6">
                <WebsiteLogo website={website} />
                <div className="min-w-0">
                  <p className="truncate text-sm leading-5 font-medium">{websiteLabel(website)}</p>
                  <p className="truncate text-sm leading-5 text-muted-foreground">{website.url}</p>
                  {/* The id the usage API takes (`websiteId`); one click selects all of it. */}
                  <p className="truncate text-xs leading-5 text-muted-foreground">
                    <span className="sr-only sm:not-sr-only">Website id </span>
                    <code className="font-mono text-[11px] text-foreground select-all sm:text-xs">{website.id}</code>
                  </p>
                </div>
              </li>
            ))}
        {websites?.length === 0 ? <li className="px-6 py-8 text-center text-sm text-muted-foreground">No websites in this group yet.</li> : null}
      </ul>
    </Card>
  );
}
