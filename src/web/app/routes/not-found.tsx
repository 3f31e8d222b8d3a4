import { Link } from "react-router";
import { Card } from "../../components/ui/card.js";

export function NotFoundRoute() {
  return (
    <Card className="mx-auto max-w-md px-6 py-10 text-center">
      <h1 className="text-base font-semibold">Page not found</h1>
      <p className="mt-1.5 text-sm text-muted-foreground">
        <Link to="/" className="underline underline-offset-4">
          Go to your groups
        </Link>
      </p>
    </Card>
  );
}
