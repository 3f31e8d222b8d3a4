import { cloneElement, type ComponentProps, type ReactElement } from "react";
import { Label } from "./input.js";

/** A labelled input; its error is shown under it, and the input is marked invalid and described by it (screen readers read it). */
export function Field({ id, label, children, error }: { id: string; label: string; children: ReactElement<ComponentProps<"input">>; error?: string | null }) {
  return (
    <div className="grid content-start gap-1.5">
      <Label htmlFor={id}>{label}</Label>
      {error ? cloneElement(children, { "aria-invalid": true, "aria-describedby": `${id}-error` }) : children}
      {error ? (
        <p id={`${id}-error`} className="text-xs text-destructive">
          {error}
        </p>
      ) : null}
    </div>
  );
}
