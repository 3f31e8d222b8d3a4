import { useEffect, useRef, useSyncExternalStore, type RefObject } from "react";
import { Toast as ToastPrimitive } from "radix-ui";
import { CircleCheck, Info, TriangleAlert, X } from "lucide-react";
import { cn } from "../../lib/cn.js";

type ToastTone = "success" | "info" | "error";
type ToastItem = { id: number; title: string; description?: string; tone: ToastTone; open: boolean };

let items: ToastItem[] = [];
let nextId = 1;
const listeners = new Set<() => void>();

function emit(next: ToastItem[]) {
  items = next;
  for (const listener of listeners) listener();
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Queues a notification; `<Toaster />` shows it in a corner and announces it. */
export function toast({ title, description, tone = "info" }: { title: string; description?: string; tone?: ToastTone }) {
  emit([...items, { id: nextId++, title, description, tone, open: true }]);
}

function setOpen(id: number, open: boolean) {
  if (open) return;
  emit(items.map((item) => (item.id === id ? { ...item, open: false } : item)));
  // Let the closing transition finish before forgetting the toast.
  window.setTimeout(() => emit(items.filter((item) => item.id !== id)), 300);
}

const icons = {
  success: <CircleCheck className="size-4 text-emerald-600" aria-hidden="true" />,
  info: <Info className="size-4 text-muted-foreground" aria-hidden="true" />,
  error: <TriangleAlert className="size-4 text-destructive" aria-hidden="true" />,
} as const;

/**
 * While toasts are shown, the page gets as much room at its bottom as they take, so scrolled to
 * the end nothing (the last rows' amounts and links) stays hidden under them.
 */
function useReserveSpaceBelow(viewport: RefObject<HTMLOListElement | null>) {
  useEffect(() => {
    const element = viewport.current;
    if (!element) return;
    const root = document.documentElement;
    const observer = new ResizeObserver(() => {
      const height = element.childElementCount > 0 ? element.getBoundingClientRect().height : 0;
      root.style.setProperty("--toast-space", `${Math.ceil(height)}px`);
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      root.style.removeProperty("--toast-space");
    };
  }, [viewport]);
}

export function Toaster() {
  const toasts = useSyncExternalStore(subscribe, () => items);
  const viewport = useRef<HTMLOListElement>(null);
  useReserveSpaceBelow(viewport);
  return (
    <ToastPrimitive.Provider swipeDirection="right" duration={6000}>
      {toasts.map((item) => (
        <ToastPrimitive.Root
          key={item.id}
          open={item.open}
          onOpenChange={(open) => setOpen(item.id, open)}
          type={item.tone === "error" ? "foreground" : "background"}
          className={cn(
            "flex items-start gap-3 rounded-lg border bg-background p-4 pr-9 shadow-lg transition-all",
            "data-[state=closed]:opacity-0 data-[swipe=move]:translate-x-[var(--radix-toast-swipe-move-x)] relative",
          )}
        >
          <span className="mt-0.5">{icons[item.tone]}</span>
          <div className="grid gap-1">
            <ToastPrimitive.Title className="text-sm font-medium">{item.title}</ToastPrimitive.Title>
            {item.description ? (
              <ToastPrimitive.Description className="text-sm text-muted-foreground">{item.description}</ToastPrimitive.Description>
            ) : null}
          </div>
          <ToastPrimitive.Close
            aria-label="Dismiss notification"
            className="absolute top-3 right-3 rounded-sm p-0.5 text-muted-foreground hover:text-foreground focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none"
          >
            <X className="size-4" aria-hidden="true" />
          </ToastPrimitive.Close>
        </ToastPrimitive.Root>
      ))}
      <ToastPrimitive.Viewport ref={viewport} className="fixed right-0 bottom-0 z-[100] m-0 flex w-full max-w-sm list-none flex-col gap-2 p-4 outline-none" />
    </ToastPrimitive.Provider>
  );
}
