-- Commissioning and outcome columns of a record (design brief, sections 3-4), derived from
-- its compiled release like the other query columns: the agencies commissioning jointly
-- (lead, funders, pooled-budget contributors), the commissioning level and outcome areas of
-- an intention, and the latest outcome rating of a contract. `commissioning` and `outcomes`
-- hold the JSON summaries the intentions and outcomes views serve, so a page needs no
-- parsing of compiled releases.
ALTER TABLE records ADD COLUMN partner_org_ids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE records ADD COLUMN commissioning_level TEXT;
ALTER TABLE records ADD COLUMN outcome_areas TEXT NOT NULL DEFAULT '[]';
ALTER TABLE records ADD COLUMN latest_rating TEXT;
ALTER TABLE records ADD COLUMN commissioning TEXT;
ALTER TABLE records ADD COLUMN outcomes TEXT;

CREATE INDEX records_contract_end ON records (contract_end, id);
