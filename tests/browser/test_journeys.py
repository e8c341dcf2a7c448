"""The four journeys of the production-readiness checklist, in a real browser."""

from implementation.models import Rating

from .conftest import shoot, sign_in


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
        assert response.status in (403, 404), url
        assert "Kenya" not in page.content(), url
        shoot(page, f"4-focal-jam-refused-{step}")

    # Their own State still opens.
    assert page.goto("/states/JAM/").status == 200
    assert page.get_by_role("heading", level=1).inner_text().startswith("Jamaica")
