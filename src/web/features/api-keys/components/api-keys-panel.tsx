import { useState } from "react";
import { Ban, KeyRound } from "lucide-react";
import { Card } from "../../../components/ui/card.js";
import { NoticeCard } from "../../../components/ui/notice-card.js";
import { SkeletonLine } from "../../../components/ui/skeleton.js";
import { isApiError } from "../../../lib/api-client.js";
import { formatDate } from "../../../lib/format.js";
import { useApiKeys } from "../api/api-keys.js";
import { CreateApiKeyButton, CreateApiKeyDialog } from "./create-api-key-dialog.js";
import { RevokeApiKeyDialog } from "./revoke-api-key-dialog.js";

/** An organization's API keys: create (shown once), list, revoke. */
export function ApiKeysPanel({ orgId }: { orgId: string }) {
  const keysQuery = useApiKeys(orgId);
  const [creating, setCreating] = useState(false);

  if (keysQuery.isError) {
    const error = keysQuery.error;
    if (isApiError(error) && (error.status === 403 || error.status === 404)) {
      return (
        <NoticeCard icon={<Ban aria-hidden="true" />} title="API keys are managed by organization admins">
          Ask an admin of this organization to create a key for you.
        </NoticeCard>
      );
    }
    return (
      <Card className="px-6 py-10 text-center text-sm text-muted-foreground">The API keys could not be loaded. Try again in a moment.</Card>
    );
  }

  const keys = keysQuery.data?.apiKeys;
  return (
    <section aria-labelledby="api-keys-title" className="flex flex-col gap-3">
      <div className="flex items-center justify-between gap-4">
        <h2 id="api-keys-title" className="text-base leading-6 font-semibold">
          Keys
        </h2>
        {keys && keys.length > 0 ? <CreateApiKeyButton variant="secondary" onClick={() => setCreating(true)} /> : null}
      </div>
      <Card className="overflow-hidden">
        {keys === undefined ? (
          <ul className="divide-y" aria-hidden="true">
            {[0, 1].map((index) => (
              <li key={index} className="flex items-center gap-3 px-4 py-3 sm:px-6">
                <div className="min-w-0 flex-1">
                  <SkeletonLine className="h-5" barClassName="h-3.5 w-40" />
                  <SkeletonLine className="h-4" barClassName="h-3 w-56 max-w-full" />
                </div>
                <SkeletonLine className="h-8" barClassName="h-8 w-16" />
              </li>
            ))}
          </ul>
        ) : keys.length === 0 ? (
          <div className="flex flex-col items-center px-6 py-10 text-center">
            <span className="flex size-10 items-center justify-center rounded-full bg-muted text-muted-foreground">
              <KeyRound className="size-5" aria-hidden="true" />
            </span>
            <p className="mt-3 text-sm font-medium">No API keys yet</p>
            <p className="mt-1 max-w-sm text-sm text-muted-foreground">Create a key for each service that records usage, so you can revoke one without touching the others.</p>
            <div className="mt-5">
              <CreateApiKeyButton onClick={() => setCreating(true)} />
            </div>
          </div>
        ) : (
          <ul className="divide-y" aria-label="API keys">
            {keys.map((key) => (
              <li key={key.id} className="flex items-center gap-3 px-4 py-3 sm:px-6">
                <div className="min-w-0 flex-1">
                  <p className="flex min-w-0 flex-wrap items-baseline gap-x-2 text-sm leading-5">
                    <span className="truncate font-medium">{key.name}</span>
                    <code className="font-mono text-xs text-muted-foreground">{key.prefix}…</code>
                  </p>
                  <p className="text-xs leading-4 text-muted-foreground">
                    Created {formatDate(key.createdAt)} · {key.lastUsedAt ? `Last used ${formatDate(key.lastUsedAt)}` : "Never used"}
                  </p>
                </div>
                <RevokeApiKeyDialog orgId={orgId} apiKey={key} />
              </li>
            ))}
          </ul>
        )}
      </Card>
      <CreateApiKeyDialog orgId={orgId} open={creating} onOpenChange={setCreating} />
    </section>
  );
}
