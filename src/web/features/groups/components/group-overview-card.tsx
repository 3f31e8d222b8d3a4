import { Card } from "../../../components/ui/card.js";
import { Skeleton, SkeletonLine } from "../../../components/ui/skeleton.js";
import { useGroup } from "../api/get-group.js";
import { WebsiteLogoStrip } from "./website-logo-strip.js";

/**
 * The group's name, one line about it and its websites' logos. If the group cannot be loaded the
 * card renders nothing, so the rest of the page stays usable.
 */
export function GroupOverviewCard({ groupId, description }: { groupId: string; description: string }) {
  const groupQuery = useGroup(groupId);
  if (groupQuery.isError) return null;
  const group = groupQuery.data;
  return (
    <Card className="p-5 sm:p-6" aria-busy={group ? undefined : true}>
      {group ? (
        <>
          <h2 className="text-lg leading-7 font-semibold">{group.name}</h2>
          <p className="mt-1 text-sm leading-5 text-muted-foreground">{description}</p>
          <div className="mt-4">
            <WebsiteLogoStrip websites={group.websites} />
          </div>
        </>
      ) : (
        <div aria-hidden="true">
          <SkeletonLine className="h-7" barClassName="h-5 w-48" />
          <SkeletonLine className="mt-1 h-5" barClassName="h-3.5 w-full max-w-96" />
          {/* Two lines of description under 640 px, as the text it stands for. */}
          <SkeletonLine className="h-5 sm:hidden" barClassName="h-3.5 w-40" />
          <div className="mt-4 flex h-7 items-center gap-1.5">
            {Array.from({ length: 6 }, (_, index) => (
              <Skeleton key={index} className="size-7 rounded-full" />
            ))}
            <Skeleton className="ml-1.5 h-3.5 w-20" />
          </div>
        </div>
      )}
    </Card>
  );
}
