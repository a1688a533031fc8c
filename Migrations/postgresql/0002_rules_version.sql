-- Authorization: a version that every change of rules, public steps, groupings, group members or users moves on,
-- so that each server knows when its compiled rules are stale.

CREATE TABLE "icat_rules_version" ("id" INTEGER PRIMARY KEY, "version" BIGINT NOT NULL);

INSERT INTO "icat_rules_version" ("id", "version") VALUES (1, 0);

CREATE FUNCTION "icat_bump_rules_version"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE "icat_rules_version" SET "version" = "version" + 1 WHERE "id" = 1; RETURN NULL; END $$;

CREATE TRIGGER "rule_changes_rules_version" AFTER INSERT OR UPDATE OR DELETE ON "rule" FOR EACH STATEMENT EXECUTE FUNCTION "icat_bump_rules_version"();

CREATE TRIGGER "public_step_changes_rules_version" AFTER INSERT OR UPDATE OR DELETE ON "public_step" FOR EACH STATEMENT EXECUTE FUNCTION "icat_bump_rules_version"();

CREATE TRIGGER "grouping_changes_rules_version" AFTER INSERT OR UPDATE OR DELETE ON "grouping" FOR EACH STATEMENT EXECUTE FUNCTION "icat_bump_rules_version"();

CREATE TRIGGER "user_group_changes_rules_version" AFTER INSERT OR UPDATE OR DELETE ON "user_group" FOR EACH STATEMENT EXECUTE FUNCTION "icat_bump_rules_version"();

CREATE TRIGGER "user_changes_rules_version" AFTER INSERT OR UPDATE OR DELETE ON "user" FOR EACH STATEMENT EXECUTE FUNCTION "icat_bump_rules_version"();
