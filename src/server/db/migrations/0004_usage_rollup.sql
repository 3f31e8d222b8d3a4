-- Credits debited per (group, website, UTC day), by source: what the Usage section and
-- GET .../billing/usage read, so a page load never scans the ledger. Maintained by a
-- statement-level trigger on ledger_entries, in the same transaction as the debits, whoever
-- writes them: one upsert per key however many entries the statement inserted.
CREATE TABLE "usage_daily" (
	"group_id" uuid NOT NULL,
	"day" date NOT NULL,
	"website_id" uuid NOT NULL,
	"website" bigint DEFAULT 0 NOT NULL,
	"group_monthly" bigint DEFAULT 0 NOT NULL,
	"group_one_time" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "usage_daily_pk" PRIMARY KEY("group_id","day","website_id")
);
--> statement-breakpoint
CREATE FUNCTION "usage_daily_add_debits"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_daily AS u (group_id, day, website_id, website, group_monthly, group_one_time)
  SELECT coalesce(g.group_id, w.group_id), (n.created_at AT TIME ZONE 'UTC')::date, coalesce(g.website_id, e.website_id),
         coalesce(sum(-n.amount) FILTER (WHERE g.kind = 'website'), 0),
         coalesce(sum(-n.amount) FILTER (WHERE g.kind = 'monthly'), 0),
         coalesce(sum(-n.amount) FILTER (WHERE g.kind = 'one_time'), 0)
    FROM new_entries n
    JOIN credit_grants g ON g.id = n.grant_id
    LEFT JOIN usage_events e ON e.id = n.usage_event_id
    LEFT JOIN websites w ON w.id = g.website_id
   WHERE n.kind = 'debit'
     AND coalesce(g.group_id, w.group_id) IS NOT NULL
     AND coalesce(g.website_id, e.website_id) IS NOT NULL
   GROUP BY 1, 2, 3
   ORDER BY 1, 2, 3
  ON CONFLICT (group_id, day, website_id) DO UPDATE
     SET website = u.website + excluded.website,
         group_monthly = u.group_monthly + excluded.group_monthly,
         group_one_time = u.group_one_time + excluded.group_one_time;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "ledger_entries_usage_daily" AFTER INSERT ON "ledger_entries"
  REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION "usage_daily_add_debits"();
--> statement-breakpoint
INSERT INTO usage_daily (group_id, day, website_id, website, group_monthly, group_one_time)
SELECT coalesce(g.group_id, w.group_id), (l.created_at AT TIME ZONE 'UTC')::date, coalesce(g.website_id, e.website_id),
       coalesce(sum(-l.amount) FILTER (WHERE g.kind = 'website'), 0),
       coalesce(sum(-l.amount) FILTER (WHERE g.kind = 'monthly'), 0),
       coalesce(sum(-l.amount) FILTER (WHERE g.kind = 'one_time'), 0)
  FROM ledger_entries l
  JOIN credit_grants g ON g.id = l.grant_id
  LEFT JOIN usage_events e ON e.id = l.usage_event_id
  LEFT JOIN websites w ON w.id = g.website_id
 WHERE l.kind = 'debit'
   AND coalesce(g.group_id, w.group_id) IS NOT NULL
   AND coalesce(g.website_id, e.website_id) IS NOT NULL
 GROUP BY 1, 2, 3;
