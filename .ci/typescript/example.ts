// A portal's first lines against the generated client: sign in, list licenses.
// Type-checked in CI (tsc --strict --noEmit), not run.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type License = components["schemas"]["LicenseView"];

export async function userBasedLicenses(baseUrl: string, email: string, password: string): Promise<License[]> {
  const api = createClient<paths>({ baseUrl });
  const login = await api.POST("/api/v1/auth/login", { body: { email, password } });
  if (login.data === undefined) {
    // `code` is a closed union of the server's problem codes.
    const retry = login.error.code === "RATE_LIMITED" || login.error.code === "SERVICE_UNAVAILABLE";
    throw new Error(`sign-in refused: ${login.error.code}${retry ? " (try again later)" : ""}`);
  }
  const page = await api.GET("/api/v1/licenses", {
    params: { query: { kind: "user_based", sort: "-created_at", per_page: 50 } },
    headers: { Authorization: `Bearer ${login.data.access_token}` },
  });
  if (page.data === undefined) {
    throw new Error(`listing refused: ${page.error.code}`);
  }
  return page.data.items.filter((license) => license.status === "active");
}
