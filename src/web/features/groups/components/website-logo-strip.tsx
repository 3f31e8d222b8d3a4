import type { Website } from "../../../../contracts/groups.js";
import { Popover, PopoverContent, PopoverTrigger } from "../../../components/ui/popover.js";
import { Tooltip } from "../../../components/ui/tooltip.js";
import { formatNumber, pluralize } from "../../../lib/format.js";
import { SM_UP, useMediaQuery } from "../../../lib/media-query.js";
import { WebsiteLogo, websiteLabel } from "./website-logo.js";

/** Logos before "+N": twelve from 640 px; five under it, so that the strip and its count keep to one row (as their placeholder does). */
const VISIBLE_LOGOS = 12;
const VISIBLE_LOGOS_NARROW = 5;

/** The group's first favicons (each focusable, with a tooltip), then "+N", then "N websites". */
export function WebsiteLogoStrip({ websites }: { websites: Website[] }) {
  const shown = useMediaQuery(SM_UP) ? VISIBLE_LOGOS : VISIBLE_LOGOS_NARROW;
  const visible = websites.slice(0, shown);
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
              <MoreWebsites websites={websites.slice(shown)} />
            </li>
          ) : null}
        </ul>
      ) : null}
      <span className="text-sm leading-5 text-muted-foreground">{pluralize(websites.length, "website")}</span>
    </div>
  );
}

/** "+N": opens a list of the websites the strip leaves out, with their logos and addresses. */
function MoreWebsites({ websites }: { websites: Website[] }) {
  return (
    <Popover>
      <PopoverTrigger
        aria-label={`Show ${pluralize(websites.length, "more website")}`}
        className="flex h-7 min-w-7 items-center justify-center rounded-full bg-muted px-1.5 text-xs font-medium text-muted-foreground hover:bg-zinc-200 hover:text-foreground focus-visible:ring-2 focus-visible:ring-ring focus-visible:ring-offset-2 focus-visible:outline-none data-[state=open]:bg-zinc-200 data-[state=open]:text-foreground"
      >
        +{formatNumber(websites.length)}
      </PopoverTrigger>
      <PopoverContent align="start" aria-label="More websites in this group">
        <p className="px-2.5 pt-2 pb-1 text-xs font-medium text-muted-foreground">{pluralize(websites.length, "more website")}</p>
        <ul className="max-h-72 overflow-y-auto">
          {websites.map((website) => (
            <li key={website.id} className="flex items-center gap-2.5 rounded-md px-2.5 py-1.5">
              <WebsiteLogo website={website} />
              <div className="min-w-0">
                <p className="truncate text-sm leading-5 font-medium">{websiteLabel(website)}</p>
                <p className="truncate text-xs leading-4 text-muted-foreground">{website.url.replace(/^https?:\/\//, "")}</p>
              </div>
            </li>
          ))}
        </ul>
      </PopoverContent>
    </Popover>
  );
}
