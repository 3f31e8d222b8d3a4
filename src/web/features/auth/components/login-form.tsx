import { useId, useRef, useState, type FormEvent } from "react";
import { Loader2 } from "lucide-react";
import { Button } from "../../../components/ui/button.js";
import { Input, Label } from "../../../components/ui/input.js";
import { isApiError } from "../../../lib/api-client.js";
import { useDemoAccounts } from "../api/get-demo-accounts.js";
import { useLogIn } from "../api/log-in.js";
import { DemoAccounts } from "./demo-accounts.js";

/** Email and password form; calls `onLoggedIn` once the session cookie is set. */
export function LoginForm({ onLoggedIn }: { onLoggedIn: () => void | Promise<void> }) {
  const logIn = useLogIn();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [continuing, setContinuing] = useState(false);
  const errorId = useId();
  const demo = useDemoAccounts().data?.demo;
  const submitButton = useRef<HTMLButtonElement>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    try {
      await logIn.mutateAsync({ email: email.trim(), password });
      setContinuing(true);
      await onLoggedIn();
    } catch {
      setContinuing(false);
    }
  }

  const error = logIn.error;
  const message = error ? (isApiError(error) && error.status === 401 ? "Invalid email or password" : error.message) : null;
  const working = logIn.isPending || continuing;

  return (
    <>
    <form className="grid gap-4" onSubmit={(event) => void submit(event)} aria-describedby={message ? errorId : undefined}>
      <div className="grid gap-2">
        <Label htmlFor="login-email">Email</Label>
        <Input
          id="login-email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(event) => setEmail(event.target.value)}
          aria-invalid={message ? true : undefined}
        />
      </div>
      <div className="grid gap-2">
        <Label htmlFor="login-password">Password</Label>
        <Input
          id="login-password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          aria-invalid={message ? true : undefined}
        />
      </div>
      {message ? (
        <p id={errorId} role="alert" className="text-sm text-destructive">
          {message}
        </p>
      ) : null}
      <Button ref={submitButton} type="submit" disabled={working} className="w-full">
        {working ? <Loader2 className="animate-spin" aria-hidden="true" /> : null}
        Log in
      </Button>
    </form>
    {demo ? (
      <DemoAccounts
        demo={demo}
        onPick={(pickedEmail) => {
          logIn.reset();
          setEmail(pickedEmail);
          setPassword(demo.password);
          submitButton.current?.focus();
        }}
      />
    ) : null}
    </>
  );
}
