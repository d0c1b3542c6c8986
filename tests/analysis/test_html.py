"""The HTML report: one page that parses, has no script or network reference, embeds every plot and escapes text."""

import base64
import copy
import io
from html.parser import HTMLParser

import pytest
from matplotlib.image import imread

from analysis.html import number, render_html
from analysis.plots import catalogue

PNG_URI = "data:image/png;base64,"
VOID = frozenset({"meta", "img", "br", "hr", "link", "input"})


class Page(HTMLParser):
    """The tags, attributes and text of a page, and whether its tags balance."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)

    def links(self) -> list[str]:
        """Every src and href."""
        return [value or "" for _, attrs in self.tags for key, value in attrs.items() if key in ("src", "href")]

    def images(self) -> dict[str, str]:
        """The src of each plot's image, by the plot's name (its figure's id)."""
        found, figure = {}, None
        for tag, attrs in self.tags:
            if tag == "figure":
                figure = (attrs.get("id") or "").removeprefix("plot-")
            elif tag == "img" and figure:
                found.setdefault(figure, attrs["src"])
        return found


@pytest.fixture(scope="module")
def claims_page(synthetic_claims) -> str:
    """The claims report's page, plots drawn for real."""
    return render_html(synthetic_claims)


@pytest.fixture(scope="module")
def grid_page(synthetic_grid) -> str:
    """The partial grid study's page."""
    return render_html(synthetic_grid)


def test_the_page_parses_with_balanced_tags(claims_page, grid_page):
    for page in (claims_page, grid_page):
        parsed = Page(page)
        assert parsed.open == [] and parsed.tags[0][0] == "html"


def test_no_script_and_no_network_reference(claims_page, grid_page):
    for page in (claims_page, grid_page):
        assert "<script" not in page.lower()
        links = Page(page).links()
        assert links and not [link for link in links if "http://" in link or "https://" in link]
        assert all(
            link.startswith(("data:image/png;base64,", "#", "plots/")) or link in ("report", "jobs.csv")
            for link in links
        )
        assert "url(" not in page


def test_every_plot_is_embedded_as_a_png_a_browser_can_show(synthetic_claims, claims_page):
    images = Page(claims_page).images()
    assert sorted(images) == sorted(name for name, _ in catalogue(synthetic_claims))
    for name, src in images.items():
        assert src.startswith(PNG_URI), name
        assert imread(io.BytesIO(base64.b64decode(src.removeprefix(PNG_URI))), format="png").ndim == 3


def test_a_plot_source_is_used_when_given(synthetic_grid):
    drawn = []

    def plot(name: str) -> bytes:
        drawn.append(name)
        return name.encode()

    page = render_html(synthetic_grid, plot)
    assert drawn == [name for name, _ in catalogue(synthetic_grid)]
    for name in drawn:
        assert PNG_URI + base64.b64encode(name.encode()).decode() in page


def test_claims_come_first_with_their_verdicts_then_evidence_and_plots(synthetic_claims, claims_page):
    text = " ".join(Page(claims_page).text)
    assert claims_page.index('id="claims"') < claims_page.index('id="section-learning_rate"')
    for claim in synthetic_claims["claims"]:
        assert claim["title"] in text and claim["rule"] in text and claim["summary"] in text
        assert f'class="verdict {claim["verdict"]}"' in claims_page
    assert "not supported" in text and "0.05123 [0.01, 0.09] (n=3)" in text and "12.5 s" in text
    section = claims_page[claims_page.index('id="claim-higher_lr"') : claims_page.index('id="claim-initialization"')]
    assert 'id="plot-lr-learning_rate"' in section


def test_claim_plots_given_as_urls_are_found(synthetic_claims):
    report = copy.deepcopy(synthetic_claims)
    report["plots"] = [{"name": name, "title": title, "png": f"/p/{name}.png"} for name, title in catalogue(report)]
    for claim in report["claims"]:
        claim["plots"] = [f"/p/{name}.png" for name in claim["plots"]]
    page = render_html(report, lambda name: b"png")
    section = page[page.index('id="claim-cost"') : page.index('id="claim-covariate_shift"')]
    assert 'id="plot-cost-cost"' in section


def test_sections_show_spec_grid_cells_and_comparisons(claims_page):
    text = " ".join(Page(claims_page).text)
    assert '"hidden": [' in text and "optimizer.lr" in text and "0.003, 0.01, 0.03, 0.1, 0.3, 1, 3" in text
    assert "norm=batchnorm lr=0.1" in text and "0.700 ± 0.020" in text
    assert "0.050 [0.010, 0.090]" in text
    assert "1.3 ms ± 0.1 ms" in text


def test_the_study_is_named_and_its_name_escaped(grid_page, claims_page):
    assert "&lt;b&gt;x&lt;/b&gt;" in grid_page and "<b>x</b>" not in grid_page
    assert "st-grid" in grid_page and "claims" in claims_page and "0.1" in claims_page


def test_a_partial_report_says_so(grid_page, claims_page):
    assert "Partial report" in grid_page
    assert "Partial report" not in claims_page


@pytest.mark.parametrize(
    ("value", "key", "text"),
    [
        (0.71234, "final_test_acc", "0.712"),
        (0.1, "generalization_gap", "0.100"),
        (12.5, "wall_time_s", "12.5 s"),
        (300.0, "wall_time_s", "5.0 min"),
        (1.2345, "train_step_cpu_ms", "1.23 ms"),
        (2.5, "inference_us_per_example", "2.5 µs"),
        (412.6, "steps_to_target", "413"),
        (None, "final_test_acc", "\u2013"),
        (True, "dropout_helps_bn_less", "yes"),
        (3, "n", "3"),
    ],
)
def test_numbers_are_formatted_for_people(value, key, text):
    assert number(value, key) == text
