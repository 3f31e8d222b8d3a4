import { ChevronRight } from "lucide-react";
import { Link, useParams } from "react-router";
import { ApiKeysPanel } from "../../features/api-keys/components/api-keys-panel.js";
import { UsageExample } from "../../features/api-keys/components/usage-example.js";

export function ApiKeysRoute() {
  const { orgId = "" } = useParams();
  return (
    <div className="flex flex-col gap-6">
      <nav aria-label="Breadcrumb" className="flex h-5 min-w-0 items-center gap-1.5 text-sm text-muted-foreground">
        <Link
          to={`/orgs/${encodeURIComponent(orgId)}/groups`}
          className="rounded-sm hover:text-foreground focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none"
        >
          Groups
        </Link>
        <ChevronRight className="size-3.5 shrink-0" aria-hidden="true" />
        <span className="truncate text-foreground" aria-current="page">
          API keys
        </span>
      </nav>
      <header>
        <h1 className="text-2xl leading-8 font-semibold tracking-tight">API keys</h1>
        <p className="mt-1 text-sm leading-5 text-muted-foreground">
          Your services use a key to spend credits and read balances for the organization’s websites.
        </p>
      </header>
      <ApiKeysPanel orgId={orgId} />
      <UsageExample />
    </div>
  );
}
