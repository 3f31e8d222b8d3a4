import { useState } from "react";
import { Loader2 } from "lucide-react";
import type { ApiKey } from "../../../../contracts/api-keys.js";
import { Button } from "../../../components/ui/button.js";
import { Dialog, DialogClose, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle, DialogTrigger } from "../../../components/ui/dialog.js";
import { toast } from "../../../components/ui/toast.js";
import { useRevokeApiKey } from "../api/api-keys.js";

/** "Revoke" on a key's row, confirmed in a dialog: the key stops working at once. */
export function RevokeApiKeyDialog({ orgId, apiKey }: { orgId: string; apiKey: ApiKey }) {
  const [open, setOpen] = useState(false);
  const revoke = useRevokeApiKey(orgId);

  function confirm() {
    if (revoke.isPending) return;
    revoke.mutate(apiKey.id, {
      onSuccess: () => {
        setOpen(false);
        toast({ tone: "success", title: `Revoked “${apiKey.name}”`, description: "Requests with this key are now refused." });
      },
    });
  }

  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        if (!next) revoke.reset();
        setOpen(next);
      }}
    >
      <DialogTrigger asChild>
        <Button variant="secondary" size="sm" aria-label={`Revoke ${apiKey.name}`}>
          Revoke
        </Button>
      </DialogTrigger>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>Revoke “{apiKey.name}”?</DialogTitle>
          <DialogDescription>
            Requests that use this key (<span className="font-mono">{apiKey.prefix}…</span>) are refused from now on. Services that still
            use it stop recording usage. This cannot be undone.
          </DialogDescription>
        </DialogHeader>
        {revoke.isError ? (
          <p role="alert" className="text-sm text-destructive">
            {revoke.error.message}
          </p>
        ) : null}
        <DialogFooter>
          <DialogClose asChild>
            <Button variant="secondary">Cancel</Button>
          </DialogClose>
          <Button variant="destructive" onClick={confirm} disabled={revoke.isPending}>
            {revoke.isPending ? <Loader2 className="animate-spin" aria-hidden="true" /> : null}
            Revoke key
          </Button>
        </DialogFooter>
      </DialogContent>
    </Dialog>
  );
}
