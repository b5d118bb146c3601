DROP INDEX records_contract_end;
ALTER TABLE records DROP COLUMN outcomes;
ALTER TABLE records DROP COLUMN commissioning;
ALTER TABLE records DROP COLUMN latest_rating;
ALTER TABLE records DROP COLUMN outcome_areas;
ALTER TABLE records DROP COLUMN commissioning_level;
ALTER TABLE records DROP COLUMN partner_org_ids;
