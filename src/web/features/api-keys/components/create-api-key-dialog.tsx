import { useId, useState, type FormEvent } from "react";
import { Check, Copy, KeyRound, Loader2, Plus, TriangleAlert } from "lucide-react";
import type { ApiKeyCreated } from "../../../../contracts/api-keys.js";
import { Button } from "../../../components/ui/button.js";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "../../../components/ui/dialog.js";
import { Input, Label } from "../../../components/ui/input.js";
import { useCreateApiKey } from "../api/api-keys.js";

/** A "Create API key" button; the dialog it opens is the one `CreateApiKeyDialog` rendered once for the page. */
export function CreateApiKeyButton({ onClick, variant = "primary" }: { onClick: () => void; variant?: "primary" | "secondary" }) {
  return (
    <Button variant={variant} onClick={onClick}>
      <Plus aria-hidden="true" />
      Create API key
    </Button>
  );
}

/**
 * Asks for a name, then shows the key once with a copy button. Rendered once and opened by any
 * `CreateApiKeyButton`, so it stays open while the list behind it changes.
 */
export function CreateApiKeyDialog({ orgId, open, onOpenChange }: { orgId: string; open: boolean; onOpenChange: (open: boolean) => void }) {
  const setOpen = onOpenChange;
  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <DialogContent>
        {/* Unmounted on close: the key is gone from the page once the dialog closes. */}
        <CreateApiKeyForm orgId={orgId} onDone={() => setOpen(false)} />
      </DialogContent>
    </Dialog>
  );
}

function CreateApiKeyForm({ orgId, onDone }: { orgId: string; onDone: () => void }) {
  const create = useCreateApiKey(orgId);
  const [name, setName] = useState("");
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const nameId = useId();
  const errorId = useId();

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (create.isPending) return;
    try {
      setCreated(await create.mutateAsync(name.trim()));
    } catch {
      // Shown from the mutation state.
    }
  }

  if (created) return <ShowKeyOnce created={created} onDone={onDone} />;

  return (
    <form className="grid gap-4" onSubmit={(event) => void submit(event)}>
      <DialogHeader>
        <DialogTitle>Create API key</DialogTitle>
        <DialogDescription>Your services send it to record usage and read balances. Name it after where it will live.</DialogDescription>
      </DialogHeader>
      <div className="grid gap-2">
        <Label htmlFor={nameId}>Name</Label>
        <Input
          id={nameId}
          required
          maxLength={100}
          placeholder="e.g. Production servers"
          value={name}
          onChange={(event) => setName(event.target.value)}
          aria-invalid={create.isError ? true : undefined}
          aria-describedby={create.isError ? errorId : undefined}
          autoFocus
        />
      </div>
      {create.isError ? (
        <p id={errorId} role="alert" className="text-sm text-destructive">
          {create.error.message}
        </p>
      ) : null}
      <DialogFooter>
        <Button type="button" variant="secondary" onClick={onDone}>
          Cancel
        </Button>
        <Button type="submit" disabled={create.isPending || name.trim() === ""}>
          {create.isPending ? <Loader2 className="animate-spin" aria-hidden="true" /> : null}
          Create key
        </Button>
      </DialogFooter>
    </form>
  );
}

function ShowKeyOnce({ created, onDone }: { created: ApiKeyCreated; onDone: () => void }) {
  const [copied, setCopied] = useState<"yes" | "failed" | null>(null);
  const keyId = useId();

  async function copy() {
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied("yes");
    } catch {
      setCopied("failed");
    }
  }

  return (
    <div className="grid gap-4">
      <DialogHeader>
        <DialogTitle>Copy your new API key</DialogTitle>
        <DialogDescription>
          “{created.name}” is ready. Store it somewhere safe, such as your secrets manager.
        </DialogDescription>
      </DialogHeader>
      <div className="flex items-start gap-2 rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">
        <TriangleAlert className="mt-0.5 size-4 shrink-0" aria-hidden="true" />
        <p>This is the only time the key is shown. If you lose it, revoke it and create a new one.</p>
      </div>
      <div className="grid gap-2">
        <Label htmlFor={keyId} className="flex items-center gap-1.5">
          <KeyRound className="size-3.5 text-muted-foreground" aria-hidden="true" />
          API key
        </Label>
        <div className="flex gap-2">
          <Input id={keyId} readOnly value={created.key} className="font-mono text-xs sm:text-xs" onFocus={(event) => event.currentTarget.select()} />
          <Button variant="secondary" onClick={() => void copy()} aria-label="Copy API key">
            {copied === "yes" ? <Check aria-hidden="true" /> : <Copy aria-hidden="true" />}
            {copied === "yes" ? "Copied" : "Copy"}
          </Button>
        </div>
        <p role="status" className="min-h-5 text-xs text-muted-foreground">
          {copied === "yes" ? "Copied to the clipboard." : copied === "failed" ? "Could not copy: select the key and copy it yourself." : ""}
        </p>
      </div>
      <DialogFooter>
        <Button onClick={onDone}>Done</Button>
      </DialogFooter>
    </div>
  );
}
