"""
The four journeys of the production-readiness checklist, in a real browser. The first
three are one story: Jamaica's focal point reports, an analyst accepts, and the
Caribbean coordinator sees the change on the region's dashboard and downloads it. Then a
spreadsheet uploaded, checked and applied in the background.
"""

import io
import re

import background
import openpyxl
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from implementation.models import Rating, Submission

from .conftest import shoot, sign_in
from .test_accessibility import AXE_OPTIONS, FAILING_IMPACTS

SOURCE = "Firearms (Marking) Regulations 2026"


def test_1_to_3_a_report_is_sent_accepted_and_seen_on_the_region_dashboard(open_page, passwords, ratings, world):
    # 1. The focal point for Jamaica updates a rating with a source and sees it pending.
    page = open_page()
    sign_in(page, "jo")
    page.get_by_role("link", name="My State").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Jamaica")
    shoot(page, "1-focal-jam-my-state")
    page.get_by_role("link", name=re.compile(r"Update the self-report on SALW-04")).click()
    page.get_by_label("Status").select_option(label="Largely implemented")
    page.get_by_label("Explanation").fill("Marking at import is now enforced at the port.")
    page.get_by_label("Source document").fill(SOURCE)
    page.get_by_label("Article or section").fill("reg. 4")
    page.get_by_label("Source date").fill("2026-09-01")
    shoot(page, "1-focal-jam-form")
    page.get_by_role("button", name="Send for review").click()
    expect(page.get_by_role("status").or_(page.locator(".messages"))).to_contain_text("sent for review")
    expect(page.locator("#measure-SALW-04")).to_contain_text("Pending review")
    shoot(page, "1-focal-jam-pending")
    submission = Submission.objects.get()
    assert (submission.status, submission.source_document, submission.review) == ("largely", SOURCE, "pending")

    # 2. The analyst reviews it and accepts it, updating CTED's assessed rating too.
    page = open_page()
    sign_in(page, "ana")
    page.get_by_role("link", name="Review (1)").click()
    item = page.locator(f"#submission-{submission.pk}")
    expect(item).to_contain_text("Jamaica")
    expect(item).to_contain_text(SOURCE)
    shoot(page, "2-analyst-review-queue")
    item.get_by_label("Also update CTED's assessed rating").check()
    item.get_by_role("button", name="Accept").click()
    expect(page.get_by_text("No submission is waiting for review")).to_be_visible()
    shoot(page, "2-analyst-accepted")
    submission.refresh_from_db()
    assert submission.review == Submission.Review.ACCEPTED
    for kind in Rating.Kind:
        assert Rating.objects.get(state=world["jam"], measure=world["marking"], kind=kind).status == "largely"

    # 3. The Caribbean coordinator opens the region dashboard, sees the change, downloads the XLSX.
    page = open_page()
    sign_in(page, "cora")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Caribbean").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Caribbean")
    heat_map = page.locator("section[aria-labelledby='heatmap-heading']")
    # The heat map's cell for Jamaica on the measure, then the data table's row, on a page of its own.
    expect(heat_map.locator("a[href='/states/JAM/#measure-SALW-04']")).to_have_attribute(
        "title", re.compile("CTED assessment: Largely implemented")
    )
    shoot(page, "3-coordinator-region")
    heat_map.get_by_role("link", name="Show the data table").click()
    expect(page).to_have_url(re.compile(r"/regions/caribbean/table/$"))
    jamaica_marking = page.locator("tr", has_text="Jamaica").filter(has_text="SALW-04")
    expect(jamaica_marking).to_have_count(1)
    expect(jamaica_marking).to_contain_text("Largely implemented")
    shoot(page, "3-coordinator-region-table")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="XLSX").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(download.path().read_bytes()), read_only=True)
    rows = [[str(cell) for cell in row] for row in workbook.worksheets[0].iter_rows(values_only=True)]
    assert any("Jamaica" in row and "SALW-04" in row and "Largely implemented" in row for row in rows), rows[:5]


def test_4_the_focal_point_for_jamaica_is_refused_kenyas_pages(open_page, passwords, ratings, world):
    page = open_page()
    sign_in(page, "jo")
    assert page.url.endswith("/")

    kenya_rating = ratings["ken", Rating.Kind.SELF_REPORTED]
    for step, url in enumerate(
        [
            "/states/KEN/",
            "/states/KEN/?export=ratings&format=xlsx",
            f"/admin/implementation/rating/{kenya_rating.pk}/change/",
            f"/admin/implementation/rating/{kenya_rating.pk}/history/",
        ]
    ):
        response = page.goto(url)
        assert response.status == 404, url
        assert "Kenya" not in page.content(), url
        shoot(page, f"4-focal-jam-refused-{step}")

    # Their own State still opens.
    assert page.goto("/states/JAM/").status == 200
    assert page.get_by_role("heading", level=1).inner_text().startswith("Jamaica")


def test_a_focal_point_is_told_why_a_regions_totals_are_withheld(open_page, focal_jam, ratings, world):
    # East Africa has one rated State, Kenya: its totals would be Kenya's own ratings.
    for width, name in [(1280, "wide"), (390, "phone")]:
        page = open_page(width=width, user=focal_jam)
        page.goto("/regions/east-africa/")
        progress = page.locator("section[aria-labelledby='progress-heading']")
        expect(
            progress.get_by_text("Withheld: it counts fewer than 3 States not shared with you").first
        ).to_be_visible()
        expect(progress.get_by_text("could work out those of one State")).to_be_visible()
        expect(page.get_by_text("Withheld: the trend counts fewer than 3 States")).to_be_visible()
        expect(progress.locator("svg.stacked-bar")).to_have_count(0)
        shoot(page, f"withheld-region-{name}")
    page.goto("/")
    card = page.locator(".region-card", has_text="East Africa")
    expect(card).to_contain_text("Withheld: it counts fewer than 3 States not shared with you")
    shoot(page, "withheld-overview-phone")


def test_a_spreadsheet_is_checked_in_the_background_and_its_page_follows_it(open_page, focal_jam, ratings):
    # The focal point uploads a file; the page says it waits, refreshes by itself once the worker has checked it,
    # and again once the confirmed file is applied. The worker runs here when the test says so.
    header = "State,Code,Status,Explanation\n"
    file = {
        "name": "jamaica.csv",
        "mimeType": "text/csv",
        "buffer": (header + "JAM,SALW-04,Largely implemented,Marking at import is enforced.\n").encode(),
    }
    page = open_page(user=focal_jam)
    page.goto("/my-state/JAM/upload/")
    page.get_by_label("Spreadsheet").set_input_files(file)
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator(".upload-progress")).to_contain_text(
        "In the queue: the check starts as soon as a worker is free."
    )
    shoot(page, "upload-waiting")
    # Brought up to date by the site's script, not a meta refresh, which axe counts against WCAG 2.2.1.
    violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    assert not [violation["id"] for violation in violations if violation["impact"] in FAILING_IMPACTS]
    assert "meta-refresh" not in {violation["id"] for violation in violations}

    background.run_tasks()
    confirm = page.get_by_role("button", name="Submit 1 row for review")
    expect(confirm).to_be_visible()
    shoot(page, "upload-preview")
    confirm.click()
    expect(page.locator(".upload-progress")).to_contain_text("Applying 1 change.")
    assert not Submission.objects.exists()

    background.run_tasks()
    expect(page.get_by_text("1 submission sent for review from jamaica.csv.")).to_be_visible()
    shoot(page, "upload-applied")
    assert Submission.objects.get().status == "largely"

    # Back on the upload page later: the upload is listed, applied.
    page.goto("/my-state/JAM/upload/")
    expect(page.locator(".upload-list")).to_contain_text("jamaica.csv")
    expect(page.locator(".upload-list")).to_contain_text("Applied")
