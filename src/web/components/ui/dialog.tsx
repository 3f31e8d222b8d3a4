import { Suspense, useState, type ComponentProps, type ReactElement, type ReactNode } from "react";
import { Dialog as DialogPrimitive } from "radix-ui";
import { Loader2, X } from "lucide-react";
import { cn } from "../../lib/cn.js";

export const Dialog = DialogPrimitive.Root;
export const DialogTrigger = DialogPrimitive.Trigger;
export const DialogClose = DialogPrimitive.Close;

type DialogContentProps = ComponentProps<typeof DialogPrimitive.Content> & { children: ReactNode };

export function DialogContent({ className, children, ...props }: DialogContentProps) {
  return (
    <DialogPrimitive.Portal>
      <DialogPrimitive.Overlay className="fixed inset-0 z-50 bg-black/50" />
      <DialogPrimitive.Content
        className={cn(
          "fixed top-1/2 left-1/2 z-50 grid max-h-[calc(100dvh-2rem)] w-[calc(100%-2rem)] max-w-[480px] -translate-x-1/2 -translate-y-1/2 gap-4 overflow-y-auto",
          "rounded-xl border bg-background p-5 shadow-lg focus:outline-none sm:p-6",
          className,
        )}
        {...props}
      >
        {children}
        <DialogPrimitive.Close
          className="absolute top-4 right-4 rounded-sm p-1 text-muted-foreground transition-colors hover:text-foreground focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none"
          aria-label="Close"
        >
          <X className="size-4" aria-hidden="true" />
        </DialogPrimitive.Close>
      </DialogPrimitive.Content>
    </DialogPrimitive.Portal>
  );
}

export function DialogHeader({ className, ...props }: ComponentProps<"div">) {
  return <div className={cn("flex flex-col gap-1.5 pr-8", className)} {...props} />;
}

export function DialogFooter({ className, ...props }: ComponentProps<"div">) {
  return <div className={cn("flex flex-col-reverse gap-2 sm:flex-row sm:justify-end", className)} {...props} />;
}

export function DialogTitle({ className, ...props }: ComponentProps<typeof DialogPrimitive.Title>) {
  return <DialogPrimitive.Title className={cn("text-lg leading-7 font-semibold", className)} {...props} />;
}

export function DialogDescription({ className, ...props }: ComponentProps<typeof DialogPrimitive.Description>) {
  return <DialogPrimitive.Description className={cn("text-sm text-muted-foreground", className)} {...props} />;
}

/** A lazily loaded dialog's content while its code loads: the dialog's title for screen readers, and a spinner. */
export function DialogLoading({ title }: { title: string }) {
  return (
    <div className="flex h-40 items-center justify-center text-muted-foreground">
      <DialogTitle className="sr-only">{title}</DialogTitle>
      <Loader2 className="size-5 animate-spin" aria-label="Loading" />
    </div>
  );
}

/**
 * A dialog whose content is loaded lazily: its code loads when the dialog is first wanted (pointer
 * over or focus on the trigger, or the click itself), not with the page, so the page's first
 * JavaScript stays within budget. The content unmounts on close, so every opening starts fresh;
 * `children` gets the function that closes it.
 */
export function LazyDialog({ trigger, title, load, children }: { trigger: ReactElement; title: string; load: () => unknown; children: (close: () => void) => ReactNode }) {
  const [open, setOpen] = useState(false);
  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <DialogTrigger asChild onPointerEnter={load} onFocus={load}>
        {trigger}
      </DialogTrigger>
      <DialogContent>
        <Suspense fallback={<DialogLoading title={title} />}>{children(() => setOpen(false))}</Suspense>
      </DialogContent>
    </Dialog>
  );
}
