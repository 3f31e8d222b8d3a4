import { useState, type FormEvent } from "react";
import { Loader2 } from "lucide-react";
import { Button } from "../../../components/ui/button.js";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle, DialogTrigger } from "../../../components/ui/dialog.js";
import { Input, Label } from "../../../components/ui/input.js";
import { toast } from "../../../components/ui/toast.js";
import { creditsError, formatNumber, parseCredits } from "../../../lib/format.js";
import { useSetPoolCap } from "../api/control-settings.js";

/** Set or remove a website's monthly cap on group pool credits (from its row in Top websites). */
export function PoolCapDialog({ groupId, website }: { groupId: string; website: { websiteId: string; name: string; poolCap: number | null } }) {
  const [open, setOpen] = useState(false);
  const [value, setValue] = useState(website.poolCap === null ? "" : String(website.poolCap));
  const setCap = useSetPoolCap(groupId);
  const parsed = parseCredits(value);
  const problem = creditsError(parsed, false);
  const invalid = problem !== null;

  const save = (monthlyCredits: number | null) =>
    setCap.mutate(
      { websiteId: website.websiteId, monthlyCredits },
      {
        onSuccess: (cap) => {
          setOpen(false);
          toast({
            tone: "success",
            title: cap.monthlyCredits === null ? `Cap removed for ${website.name}` : `Cap saved for ${website.name}`,
            description: cap.monthlyCredits === null ? undefined : `${formatNumber(cap.usedThisMonth)} of ${formatNumber(cap.monthlyCredits)} pool credits used this month.`,
          });
        },
      },
    );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!invalid && parsed !== null) save(parsed);
  };
  const inputId = `cap-${website.websiteId}`;
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (next) setValue(website.poolCap === null ? "" : String(website.poolCap));
        setCap.reset();
      }}
    >
      <DialogTrigger asChild>
        <Button variant="ghost" size="sm" className="h-6 px-1.5 text-xs" aria-label={`${website.poolCap === null ? "Set" : "Edit"} pool cap for ${website.name}`}>
          {website.poolCap === null ? "Set cap" : "Edit cap"}
        </Button>
      </DialogTrigger>
      <DialogContent>
        <form onSubmit={submit} className="grid gap-4">
          <DialogHeader>
            <DialogTitle>Pool cap for {website.name}</DialogTitle>
            <DialogDescription>
              The most credits this website may draw from the group’s pool each calendar month. Its own credits are never capped; an event that would pass the cap is refused.
            </DialogDescription>
          </DialogHeader>
          <div className="grid gap-2">
            <Label htmlFor={inputId}>Monthly pool cap (credits)</Label>
            <Input
              id={inputId}
              inputMode="numeric"
              value={value}
              onChange={(e) => {
                setValue(e.target.value);
                setCap.reset(); // a server's answer is about the value it was sent
              }}
              aria-invalid={invalid}
              placeholder="No cap"
            />
            {problem ? <p className="text-sm text-destructive">{problem}</p> : setCap.isError ? <p className="text-sm text-destructive">{setCap.error.message}</p> : null}
          </div>
          <DialogFooter>
            {website.poolCap !== null ? (
              <Button type="button" variant="secondary" disabled={setCap.isPending} onClick={() => save(null)}>
                Remove cap
              </Button>
            ) : null}
            <Button type="submit" disabled={setCap.isPending || invalid || parsed === null}>
              {setCap.isPending ? <Loader2 className="animate-spin" aria-hidden="true" /> : null}
              Save cap
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
