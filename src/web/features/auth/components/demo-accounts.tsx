import type { DemoResponse } from "../../../../contracts/session.js";

type Demo = NonNullable<DemoResponse["demo"]>;

/** The demo's accounts: picking one fills the sign-in form with its email and the demo password. */
export function DemoAccounts({ demo, onPick }: { demo: Demo; onPick: (email: string) => void }) {
  return (
    <section aria-labelledby="demo-accounts-title" className="mt-6 border-t pt-5">
      <h2 id="demo-accounts-title" className="text-sm font-medium">
        Demo accounts
      </h2>
      <p className="mt-1 text-xs text-muted-foreground">
        Every one uses the password <code className="rounded bg-muted px-1 py-0.5 font-mono text-[11px] text-foreground">{demo.password}</code>.
        Pick one to fill in the form.
      </p>
      <ul className="mt-3 grid gap-1">
        {demo.accounts.map((account) => (
          <li key={account.email}>
            <button
              type="button"
              onClick={() => onPick(account.email)}
              aria-label={`Use ${account.email}`}
              className="flex w-full flex-col items-start rounded-md px-2.5 py-1.5 text-left hover:bg-muted focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none"
            >
              <span className="truncate text-sm font-medium">{account.email}</span>
              <span className="truncate text-xs text-muted-foreground">{account.description}</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
