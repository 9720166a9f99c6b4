import { expect, test } from "@playwright/test";

test("the served page renders the app", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "SwarmDrop" })).toBeVisible();
  await page.screenshot({ path: "test-results/screens/home.png" });
});
