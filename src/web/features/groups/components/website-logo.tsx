import { useState } from "react";
import type { Website } from "../../../../contracts/groups.js";
import { cn } from "../../../lib/cn.js";

const FALLBACK_COLOURS = [
  "bg-sky-600",
  "bg-emerald-600",
  "bg-violet-600",
  "bg-rose-600",
  "bg-amber-700",
  "bg-teal-600",
  "bg-indigo-600",
  "bg-fuchsia-700",
] as const;

function hash(text: string): number {
  let value = 0;
  for (const char of text) value = (value * 31 + char.charCodeAt(0)) >>> 0;
  return value;
}

export function websiteLabel(website: Pick<Website, "name" | "url">): string {
  return website.name.trim() || website.url;
}

function initial(website: Pick<Website, "name" | "url">): string {
  const source = website.name.trim() || website.url.replace(/^[a-z]+:\/\/(www\.)?/i, "");
  return (source[0] ?? "?").toUpperCase();
}

/** A round 28 px favicon; a coloured circle with the first letter when there is none or it fails to load. */
export function WebsiteLogo({ website, className }: { website: Website; className?: string }) {
  const [failedUrl, setFailedUrl] = useState<string | null>(null);
  const showImage = website.iconUrl !== null && website.iconUrl !== failedUrl;
  return (
    <span
      className={cn(
        "flex size-7 shrink-0 items-center justify-center overflow-hidden rounded-full ring-2 ring-background",
        showImage ? "bg-background" : FALLBACK_COLOURS[hash(website.id) % FALLBACK_COLOURS.length],
        className,
      )}
    >
      {showImage && website.iconUrl ? (
        <img
          src={website.iconUrl}
          alt=""
          width={28}
          height={28}
          loading="lazy"
          decoding="async"
          className="size-7 object-cover"
          onError={() => setFailedUrl(website.iconUrl)}
        />
      ) : (
        <span aria-hidden="true" className="text-xs font-semibold text-white">
          {initial(website)}
        </span>
      )}
    </span>
  );
}
