// The page itself: it renders (desktop, phone, dark), a bad or truncated link
// says what is wrong, and the keyboard reaches the pickers and the drop zone.
import { expect, test } from "@playwright/test";
import { screenshot } from "./helpers.ts";

test("the page renders with its pickers, drop zone and link field", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "SwarmDrop" })).toBeVisible();
  await expect(page.getByLabel("Add files")).toBeAttached();
  await expect(page.getByLabel("Add folder")).toHaveAttribute("webkitdirectory", "");
  await expect(page.getByRole("button", { name: /Drop files or a folder/ })).toBeVisible();
  await expect(page.getByText(/SwarmDrop stores/)).toBeVisible();
  await screenshot(page, "app-desktop-light");
  await page.emulateMedia({ colorScheme: "dark" });
  await screenshot(page, "app-desktop-dark");
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, "app-phone-dark");
});

test("an invalid link fragment shows what is wrong", async ({ page }) => {
  await page.goto("/#magnet:?xt=urn:btih:nothex&dn=broken");
  const alert = page.getByRole("alert").filter({ hasText: "This share link cannot be opened" });
  await expect(alert).toBeVisible();
  await expect(alert).toContainText(/btih|infohash|hash/i);
  await screenshot(page, "app-invalid-link");
});

test("a truncated link says so, and a corrected link pasted in the field opens", async ({ page }) => {
  await page.goto("/#magnet:?xt=urn:btih:0123456789abcdef");
  const alert = page.getByRole("alert").filter({ hasText: "This share link cannot be opened" });
  await expect(alert).toBeVisible();
  await expect(alert).toContainText(/40|32|characters|long|short/i);
  await alert.getByRole("button", { name: /Dismiss/ }).click();
  await expect(alert).toBeHidden();

  await page.getByLabel("Open a share link").fill(`#magnet:?xt=urn:btih:${"0123456789abcdef0123".repeat(2)}&dn=typed`);
  await page.getByRole("button", { name: "Open", exact: true }).click();
  await expect(page.getByRole("region", { name: "typed" })).toBeVisible();
});

test("keyboard focus reaches Add files, and the drop zone opens the file picker", async ({ page }) => {
  await page.goto("/");
  let reached = false;
  for (let i = 0; i < 12 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.getByLabel("Add files").evaluate((el) => el === document.activeElement);
  }
  expect(reached, "Tab reaches the Add files input").toBe(true);

  const zone = page.getByRole("button", { name: /Drop files or a folder/ });
  await zone.focus();
  await expect(zone).toBeFocused();
  const outline = await zone.evaluate((el) => getComputedStyle(el).outlineStyle);
  expect(outline).not.toBe("none");
  const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.keyboard.press("Enter")]);
  expect(chooser.isMultiple()).toBe(true);
});
