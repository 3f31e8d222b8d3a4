import { ChevronRight } from "lucide-react";
import { Link } from "react-router";
import { Card } from "../../../components/ui/card.js";
import { SkeletonLine } from "../../../components/ui/skeleton.js";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "../../../components/ui/table.js";
import { formatNumber } from "../../../lib/format.js";
import { useOrgGroups } from "../api/get-org-groups.js";

/** The organization's groups, each linking to its billing tab. */
export function GroupsTable({ orgId }: { orgId: string }) {
  const groupsQuery = useOrgGroups(orgId);

  if (groupsQuery.isError) {
    return (
      <Card className="px-6 py-10 text-center text-sm text-muted-foreground">
        {groupsQuery.error.message || "The groups could not be loaded."}
      </Card>
    );
  }

  const groups = groupsQuery.data?.groups;
  return (
    <Card className="overflow-hidden">
      <Table>
        <TableHeader>
          <TableRow className="hover:bg-transparent">
            <TableHead>Group</TableHead>
            <TableHead className="text-right">Websites</TableHead>
            <TableHead>Billing</TableHead>
            <TableHead className="w-10">
              <span className="sr-only">Open</span>
            </TableHead>
          </TableRow>
        </TableHeader>
        <TableBody>
          {groups === undefined ? (
            Array.from({ length: 3 }, (_, index) => (
              <TableRow key={index} className="hover:bg-transparent">
                <TableCell>
                  <SkeletonLine className="h-5" barClassName="h-3.5 w-40" />
                </TableCell>
                <TableCell>
                  <SkeletonLine className="h-5 justify-end" barClassName="h-3.5 w-6" />
                </TableCell>
                <TableCell>
                  <SkeletonLine className="h-5" barClassName="h-3.5 w-20" />
                </TableCell>
                <TableCell />
              </TableRow>
            ))
          ) : groups.length === 0 ? (
            <TableRow className="hover:bg-transparent">
              <TableCell colSpan={4} className="py-8 text-center text-muted-foreground">
                This organization has no groups yet.
              </TableCell>
            </TableRow>
          ) : (
            groups.map((group) => (
              <TableRow key={group.id} className="relative">
                <TableCell className="font-medium">
                  <Link
                    to={`/groups/${encodeURIComponent(group.id)}/billing`}
                    className="rounded-sm after:absolute after:inset-0 hover:underline focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none"
                  >
                    {group.name}
                  </Link>
                </TableCell>
                <TableCell className="text-right tabular-nums">{formatNumber(group.websiteCount)}</TableCell>
                <TableCell>
                  {group.billingEnabled ? (
                    <span className="inline-flex items-center rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-800 ring-1 ring-emerald-200">
                      Enabled
                    </span>
                  ) : (
                    <span className="inline-flex items-center rounded-full bg-muted px-2 py-0.5 text-xs font-medium text-muted-foreground ring-1 ring-border">
                      Not enabled
                    </span>
                  )}
                </TableCell>
                <TableCell className="text-muted-foreground">
                  <ChevronRight className="size-4" aria-hidden="true" />
                </TableCell>
              </TableRow>
            ))
          )}
        </TableBody>
      </Table>
    </Card>
  );
}
