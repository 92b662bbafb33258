"""Template authoring and moderation in Chromium: save an HTTP connector as a template (a literal
secret refused at its path), publish with a changelog, edit, publish again, compare the two
versions, install the older one; the platform panel features, unpublishes and grants roles, and
is closed to everyone else. Screenshots land in test-artifacts/."""

from __future__ import annotations

import json
import uuid

import httpx

from tests.e2e.conftest import E2E, add_user, open_page, sign_in

pytestmark = E2E

DEFINITION = {
    "input_schema": {
        "type": "object",
        "required": ["query"],
        "properties": {
            "query": {"type": "string", "title": "Search words", "description": "What to look for"}
        },
    },
    "steps": [{"name": "search", "url": "/v1/items?q={{input.query}}", "extract": {"n": "$.n"}}],
    "output": {"count": "{{steps.search.n}}"},
}


async def _http_connector(server, name: str, definition: dict) -> dict:
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers) as http:
        created = await http.post(
            "/api/connectors",
            json={"catalog_key": "http", "name": name, "definition": definition,
                  "config": {"base_url": "https://api.example.com"}},
        )  # fmt: skip
        assert created.status_code == 201, created.text
    return created.json()


async def _toast(page, words: str) -> None:
    await page.wait_for_selector(f"#toasts >> text={words}")


async def test_save_as_template_publish_diff_and_install_a_chosen_version(tab, server):
    page = tab.page
    suffix = uuid.uuid4().hex[:6]
    leaky = {**DEFINITION, "steps": [{**DEFINITION["steps"][0],
                                      "headers": {"X-Api-Key": "abcd1234literal"}}]}  # fmt: skip
    await _http_connector(server, f"Leaky {suffix}", leaky)
    source = await _http_connector(server, f"Items {suffix}", DEFINITION)
    await sign_in(tab, server)

    # A literal secret is refused, naming the field.
    await page.goto(f"{server.url}/connectors/installed?search=Leaky+{suffix}")
    await page.click(f'[aria-label="Save Leaky {suffix} as a template"]')
    await page.fill("#f-key", f"leaky-{suffix}")
    await page.click("[data-testid=save-as-template-form] button[type=submit]")
    errors = page.locator("[data-testid=form-errors]")
    await errors.wait_for()
    assert "definition.steps[0].headers.X-Api-Key" in await errors.inner_text()

    # The clean one becomes a draft, then version 1 with its changelog.
    await page.goto(f"{server.url}/connectors/installed?search=Items+{suffix}")
    await page.click(f'[aria-label="Save Items {suffix} as a template"]')
    assert await page.input_value("#f-name") == source["name"]
    key = f"items-{suffix}"
    await page.fill("#f-key", key)
    await page.fill("#f-description", "Searches items")
    await page.click("[data-testid=save-as-template-form] button[type=submit]")
    await page.wait_for_url(f"**/templates/{key}")
    await _toast(page, "saved")
    assert await page.inner_text("[data-testid=template-status]") == "draft"
    # The draft is on the Yours tab only.
    await page.click("nav >> text=Templates")
    await page.click("[data-testid=source-mine]")
    mine = page.locator(f"[data-testid=template-card][data-key='{key}']")
    assert await mine.locator("[data-testid=card-status]").inner_text() == "draft"
    await mine.locator(".card-footer a").click()
    await page.wait_for_url(f"**/templates/{key}")
    inputs = await page.inner_text("[data-testid=template-inputs]")
    assert "Search words" in inputs and "What to look for" in inputs and "required" in inputs
    await page.fill("#publish-changelog", "First release")
    await page.click("[data-testid=publish-form] button[type=submit]")
    await _toast(page, "Version 1 published")
    await page.wait_for_selector('[data-testid=template-status]:text-is("published")')

    # Edit the draft: a second step's worth of change, published as version 2.
    await page.click("[data-testid=edit-draft]")
    await page.wait_for_selector("[data-testid=edit-template-form]")
    edited = json.loads(await page.input_value("#f-definition"))
    edited["output"]["source"] = "v2"
    await page.fill("#f-definition", json.dumps(edited, indent=2))
    await page.click("[data-testid=edit-template-form] button[type=submit]")
    await page.wait_for_url(f"**/templates/{key}")
    await page.locator("[data-testid=unpublished-changes]").wait_for()
    await page.fill("#publish-changelog", "Says where it came from")
    await page.click("[data-testid=publish-form] button[type=submit]")
    await _toast(page, "Version 2 published")
    history = page.locator("[data-testid=version-row]")
    await page.wait_for_selector("[data-testid=version-row][data-version='2']")
    assert await history.count() == 2
    assert "Says where it came from" in await history.first.inner_text()
    assert "First release" in await history.nth(1).inner_text()

    # Version 1 → 2: the added line, marked as added.
    await page.click("[data-testid=diff-form] button[type=submit]")
    added = page.locator("[data-testid=version-diff] .diff-add")
    await added.first.wait_for()
    assert any('"source": "v2"' in line for line in await added.all_inner_texts())
    assert "version 1" in await page.inner_text("[data-testid=version-diff]")
    await tab.screenshot("template-version-diff")

    # Install the older version.
    name = f"Items v1 {suffix}"
    await page.fill("#install-name", name)
    await page.select_option("#install-version", "1")
    await page.click("[data-testid=install-form] button[type=submit]")
    card = page.locator(f'[data-testid=installed-card][data-name="{name}"]')
    await card.wait_for()
    await _toast(page, "installed from version 1")
    assert "template v1" in await card.inner_text()


async def test_platform_panel_moderates_and_grants_roles(tab, browser, server):
    suffix = uuid.uuid4().hex[:6]
    key = f"community-{suffix}"
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers) as http:
        created = await http.post(
            "/api/templates",
            json={"key": key, "name": f"Community {suffix}", "category": f"Cat{suffix}",
                  "definition": DEFINITION, "default_config": {"base_url": "https://x.test"}},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        published = await http.post(f"/api/templates/{key}/publish", json={"changelog": "Hi"})
        assert published.status_code == 200
    page = tab.page
    await sign_in(tab, server)  # the first owner: platform owner
    await page.click("[data-testid=settings-menu]")
    await page.click("#navbar-settings >> text=Platform")
    await page.wait_for_url("**/admin/templates")
    assert await page.inner_text("[data-testid=my-platform-role]") == "owner"
    row = page.locator(f"[data-testid=queue-row][data-key='{key}']")
    await page.click(f'[aria-label="Feature Community {suffix}"]')
    await _toast(page, "is featured")
    await row.locator("[data-testid=queue-featured]").wait_for()

    # The marketplace shows it under its category and among the featured.
    await page.goto(f"{server.url}/templates")
    await page.select_option("#template-category", f"Cat{suffix}")
    await page.wait_for_url(f"**category=Cat{suffix}**")
    cards = page.locator("[data-testid=template-card]")
    assert [await c.get_attribute("data-key") for c in await cards.all()] == [key]
    await page.check("#template-featured")
    await page.wait_for_url("**featured=1**")
    assert await cards.count() == 1 and "Featured" in await cards.first.inner_text()
    await tab.screenshot("templates-filtered")

    await page.goto(f"{server.url}/admin/templates")
    await page.click(f'[aria-label="Unpublish Community {suffix}"]')
    await _toast(page, "unpublished")
    await row.locator('[data-testid=queue-status]:text-is("unpublished")').wait_for()

    # Grant a developer; they see the panel without moderation, and cannot grant.
    email = f"dev-{suffix}@example.com"
    password = add_user(server, email, "admin")
    await page.fill("#grant-email", email)
    await page.select_option("#grant-role", "developer")
    await page.click("[data-testid=grant-form] button[type=submit]")
    await _toast(page, "now has developer")
    granted = page.locator(f"[data-testid=role-row][data-email='{email}']")
    assert await granted.locator("[data-testid=role-badge]").inner_text() == "developer"
    await tab.screenshot("platform-panel")

    developer = await open_page(browser)
    try:
        await sign_in(developer, server, email, password)
        await developer.page.goto(f"{server.url}/admin/templates")
        assert await developer.page.inner_text("[data-testid=my-platform-role]") == "developer"
        assert await developer.page.locator("[data-testid=moderation-queue]").count() == 0
        assert await developer.page.locator("[data-testid=grant-form]").count() == 0
        assert await developer.page.locator("[data-testid=official-row]").count() >= 1
        # They write an official draft; publishing it is an admin's.
        await developer.page.click("[data-testid=new-official]")
        official_key = f"official-{suffix}"
        await developer.page.fill("#f-key", official_key)
        await developer.page.fill("#f-name", f"Official {suffix}")
        await developer.page.click("[data-testid=new-official-form] button[type=submit]")
        await developer.page.wait_for_url(f"**/templates/{official_key}")
        await developer.page.locator(
            "text=A platform admin publishes official templates"
        ).wait_for()
        assert await developer.page.locator("[data-testid=publish-form]").count() == 0
        assert await developer.page.locator("[data-testid=edit-draft]").count() == 1
        assert developer.problems == []
    finally:
        await developer.page.context.close()
    await page.goto(f"{server.url}/admin/templates")
    official_row = page.locator(f"[data-testid=official-row][data-key='{official_key}']")
    await official_row.locator("input[name=changelog]").fill("Reviewed")
    await official_row.locator('[aria-label="Publish Official ' + suffix + '"]').click()
    await _toast(page, "Version 1 published")
    await page.wait_for_selector('[data-testid=template-status]:text-is("published")')

    # A plain member gets the forbidden page, and no Platform link.
    member_email = f"member-{suffix}@example.com"
    member_password = add_user(server, member_email, "member")
    member = await open_page(browser)
    try:
        await sign_in(member, server, member_email, member_password)
        await member.page.click("[data-testid=settings-menu]")
        assert await member.page.locator("#navbar-settings >> text=Platform").count() == 0
        answer = await member.page.goto(f"{server.url}/admin/templates")
        assert answer is not None and answer.status == 403
        assert "Only platform roles open the platform panel" in await member.page.inner_text("body")
    finally:
        await member.page.context.close()


async def test_move_an_install_between_versions_and_roll_back(tab, server):
    suffix = uuid.uuid4().hex[:6]
    key = f"moving-{suffix}"
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers) as http:
        body = {"key": key, "name": f"Moving {suffix}", "definition": DEFINITION,
                "default_config": {"base_url": "https://x.test"}}  # fmt: skip
        assert (await http.post("/api/templates", json=body)).status_code == 201
        await http.post(f"/api/templates/{key}/publish", json={"changelog": "One"})
        second = {**DEFINITION, "output": {"count": "{{steps.search.n}}", "v": 2}}
        await http.patch(f"/api/templates/{key}", json={"definition": second})
        await http.post(f"/api/templates/{key}/publish", json={"changelog": "Two"})
        installed = await http.post(
            f"/api/templates/{key}/install", json={"name": f"Mover {suffix}", "version": 1}
        )
        assert installed.status_code == 201, installed.text
    page = tab.page
    await sign_in(tab, server)
    await page.goto(f"{server.url}/templates/{key}")
    move = page.locator(f"[data-testid=move-form][data-name='Mover {suffix}']")
    assert await move.locator("[data-testid=runs-version]").inner_text() == "runs v1"
    await move.locator("select").select_option("2")
    await move.locator("button").click()
    await _toast(page, f"Mover {suffix} now runs version 2")
    await move.locator('[data-testid=runs-version]:text-is("runs v2")').wait_for()

    await page.click('[aria-label="Roll back to version 1"]')
    await _toast(page, "Version 1 published again as version 3")
    await page.wait_for_selector("[data-testid=version-row][data-version='3']")
    newest = page.locator("[data-testid=version-row]").first
    assert "Rolled back to version 1" in await newest.inner_text()
    await page.select_option("#diff-from", "1")
    await page.select_option("#diff-to", "3")
    await page.click("[data-testid=diff-form] button[type=submit]")
    await page.wait_for_selector(
        "[data-testid=version-diff] >> text=These two versions are the same"
    )
    await tab.screenshot("template-rolled-back")
