import type { Website } from "../../../../contracts/groups.js";
import { Tooltip } from "../../../components/ui/tooltip.js";
import { formatNumber, pluralize } from "../../../lib/format.js";
import { WebsiteLogo, websiteLabel } from "./website-logo.js";

const VISIBLE_LOGOS = 12;

/** The first twelve favicons of the group (each focusable, with a tooltip), then "+N", then "N websites". */
export function WebsiteLogoStrip({ websites }: { websites: Website[] }) {
  const visible = websites.slice(0, VISIBLE_LOGOS);
  const hidden = websites.length - visible.length;
  return (
    <div className="flex flex-wrap items-center gap-x-3 gap-y-2">
      {websites.length > 0 ? (
        <ul className="flex flex-wrap items-center gap-1.5" aria-label="Websites in this group">
          {visible.map((website) => (
            <li key={website.id} className="flex">
              <Tooltip content={websiteLabel(website)}>
                <span
                  tabIndex={0}
                  role="img"
                  aria-label={websiteLabel(website)}
                  className="rounded-full focus-visible:ring-2 focus-visible:ring-ring focus-visible:ring-offset-2 focus-visible:outline-none"
                >
                  <WebsiteLogo website={website} />
                </span>
              </Tooltip>
            </li>
          ))}
          {hidden > 0 ? (
            <li className="flex">
              <span
                className="flex h-7 min-w-7 items-center justify-center rounded-full bg-muted px-1.5 text-xs font-medium text-muted-foreground"
                aria-label={`and ${pluralize(hidden, "more website")}`}
                role="img"
              >
                +{formatNumber(hidden)}
              </span>
            </li>
          ) : null}
        </ul>
      ) : null}
      <span className="text-sm leading-5 text-muted-foreground">{pluralize(websites.length, "website")}</span>
    </div>
  );
}
