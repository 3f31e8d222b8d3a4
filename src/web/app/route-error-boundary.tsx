import { Component, type ReactNode } from "react";

type State = { failed: boolean };

/** Last resort when a page throws while rendering (e.g. its chunk failed to load after a deploy). */
export class RouteErrorBoundary extends Component<{ children: ReactNode }, State> {
  override state: State = { failed: false };

  static getDerivedStateFromError(): State {
    return { failed: true };
  }

  override render() {
    if (!this.state.failed) return this.props.children;
    return (
      <main className="mx-auto flex min-h-dvh max-w-md flex-col items-center justify-center gap-3 px-6 text-center">
        <h1 className="text-lg font-semibold">This page could not be shown</h1>
        <p className="text-sm text-muted-foreground">A newer version may be available. Reloading usually fixes it.</p>
        <button
          type="button"
          className="rounded-sm text-sm font-medium underline underline-offset-4 focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none"
          onClick={() => window.location.reload()}
        >
          Reload
        </button>
      </main>
    );
  }
}
