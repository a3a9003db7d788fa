import { afterAll, describe } from "vitest";
import { openPostgresStore } from "../src/store/postgres/postgres-store.js";
import { describeStoreContract } from "./store-contract.js";
import { dropTestSchemas, testName } from "./support/postgres.js";
import { requireService, TEST_DATABASE_URL } from "./support/services.js";

const available = await requireService("PostgreSQL");
const schemas = new Set<string>();
afterAll(() => dropTestSchemas(schemas));

describe.skipIf(!available)("PostgreSQL", () => {
  describeStoreContract("postgres", (observer) => {
    const schema = testName();
    schemas.add(schema);
    return openPostgresStore({
      connectionString: TEST_DATABASE_URL,
      schema,
      applicationName: schema,
      pool: { max: 4 },
      observer,
    });
  });
});
