"""Destination tax engine: jurisdictions, rate matching, rounding, errors."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.tax import (
    Destination,
    InvalidRegistration,
    Jurisdiction,
    Registration,
    TaxError,
    TaxLineInput,
    TaxRate,
    UnknownDestination,
    compute_tax,
    explain_jurisdiction,
    jurisdiction_for,
    matching_rates,
)
from app.core.taxtables import load_default_rates

GB_VAT = TaxRate("GB", None, None, None, Decimal("20"), "VAT")

NY_STATE = TaxRate("US", "NY", None, None, Decimal("4"), "NY State Tax")
NYC_LOCAL = TaxRate(
    "US", "NY", None, "NEW YORK", Decimal("4.875"), "NYC Local Tax", priority=2
)

GST = TaxRate("CA", "QC", None, None, Decimal("5"), "GST")
QST = TaxRate(
    "CA", "QC", None, None, Decimal("9.975"), "QST", priority=2, compound=True
)


def default_rates_of(country: str) -> list[TaxRate]:
    return [rate for rate in load_default_rates() if rate.country == country]


# UK VAT included in prices ----------------------------------------------------


def test_uk_inclusive_vat_backs_out_tax() -> None:
    lines = [TaxLineInput("kettle", 1200), TaxLineInput("mug", 999)]

    result = compute_tax(lines, [GB_VAT], Destination("GB"), prices_include_tax=True)

    # 1200 * 20/120 = 200; 999 * 20/120 = 166.5, which rounds half-up to 167.
    assert result.line("kettle").tax == 200
    assert result.line("kettle").net == 1000
    assert result.line("mug").tax == 167
    assert result.line("mug").net == 832
    assert result.tax == 367
    assert result.net == 1832


def test_uk_inclusive_totals_per_name_and_rate() -> None:
    lines = [TaxLineInput("kettle", 1200), TaxLineInput("mug", 999)]

    result = compute_tax(lines, [GB_VAT], Destination("GB"), prices_include_tax=True)

    assert len(result.totals) == 1
    assert result.totals[0].name == "VAT"
    assert result.totals[0].rate == Decimal("20")
    assert result.totals[0].taxable == 1832
    assert result.totals[0].amount == 367


def test_refund_line_rounds_half_away_from_zero() -> None:
    result = compute_tax(
        [TaxLineInput("mug refund", -999)],
        [GB_VAT],
        Destination("GB"),
        prices_include_tax=True,
    )

    # -999 * 20/120 = -166.5 -> -167, the mirror image of the sale.
    assert result.line("mug refund").tax == -167
    assert result.line("mug refund").net == -832


# New York: state rate plus New York City's local rate -------------------------


def ny_order() -> list[TaxLineInput]:
    return [
        # 5000 list price less its 500 share of a 10 % order discount.
        TaxLineInput("mug", 4500),
        TaxLineInput("tee", 1999),
        TaxLineInput("shipping", 795, is_shipping=True),
    ]


NYC = Destination("US", "NY", "10001", "New York")


def test_new_york_state_and_city_rates_add_up() -> None:
    result = compute_tax(
        ny_order(), [NY_STATE, NYC_LOCAL], NYC, prices_include_tax=False
    )

    # mug: 4500 * 4 % = 180; 4500 * 4.875 % = 219.375 -> 219; tax 399.
    mug = result.line("mug")
    assert [c.amount for c in mug.components] == [180, 219]
    assert mug.tax == 399
    assert mug.net == 4500
    assert mug.gross == 4899
    # tee: 1999 * 4 % = 79.96 -> 80; 1999 * 4.875 % = 97.45125 -> 97; tax 177.
    tee = result.line("tee")
    assert [c.amount for c in tee.components] == [80, 97]
    assert tee.tax == 177
    # shipping: 795 * 4 % = 31.8 -> 32; 795 * 4.875 % = 38.75625 -> 39; tax 71.
    shipping = result.line("shipping")
    assert [c.amount for c in shipping.components] == [32, 39]
    assert shipping.tax == 71
    assert result.tax == 647


def test_new_york_totals_per_rate() -> None:
    result = compute_tax(
        ny_order(), [NY_STATE, NYC_LOCAL], NYC, prices_include_tax=False
    )

    state, local = result.totals
    assert (state.name, state.rate, state.taxable, state.amount) == (
        "NY State Tax",
        Decimal("4"),
        7294,
        292,
    )
    assert (local.name, local.rate, local.taxable, local.amount) == (
        "NYC Local Tax",
        Decimal("4.875"),
        7294,
        355,
    )


def test_new_york_order_rounding_differs_by_one_cent() -> None:
    result = compute_tax(
        ny_order(),
        [NY_STATE, NYC_LOCAL],
        NYC,
        prices_include_tax=False,
        rounding="order",
    )

    # Local tax on 7294 is 355.5825 -> 356 once per order, against 355 from
    # rounding each line. The extra cent goes to the tee (remainder 0.45125).
    assert result.totals[1].amount == 356
    assert result.line("mug").components[1].amount == 219
    assert result.line("tee").components[1].amount == 98
    assert result.line("shipping").components[1].amount == 39
    assert result.tax == 648


def test_buffalo_gets_state_rate_only() -> None:
    buffalo = Destination("US", "NY", "14201", "Buffalo")

    result = compute_tax(
        [TaxLineInput("mug", 4500)],
        [NY_STATE, NYC_LOCAL],
        buffalo,
        prices_include_tax=False,
    )

    assert [c.name for c in result.line("mug").components] == ["NY State Tax"]
    assert result.line("mug").tax == 180


def test_shipping_untaxed_when_rate_excludes_shipping() -> None:
    no_shipping = TaxRate(
        "US", "NY", None, None, Decimal("4"), "NY State Tax", shipping=False
    )

    result = compute_tax(
        [TaxLineInput("shipping", 795, is_shipping=True), TaxLineInput("mug", 4500)],
        [no_shipping],
        Destination("US", "NY"),
        prices_include_tax=False,
    )

    assert result.line("shipping").tax == 0
    assert result.line("shipping").components == ()
    assert result.line("mug").tax == 180


def test_exempt_line_carries_no_tax() -> None:
    result = compute_tax(
        [TaxLineInput("book", 1200, exempt=True)],
        [GB_VAT],
        Destination("GB"),
        prices_include_tax=True,
    )

    assert result.line("book").tax == 0
    assert result.line("book").net == 1200


def test_tax_class_picks_reduced_rate() -> None:
    reduced = TaxRate(
        "GB", None, None, None, Decimal("5"), "VAT", tax_class="reduced-rate"
    )
    lines = [
        TaxLineInput("car seat", 2100, tax_class="reduced-rate"),
        TaxLineInput("mug", 1200, tax_class="standard"),
    ]

    result = compute_tax(
        lines, [GB_VAT, reduced], Destination("GB"), prices_include_tax=True
    )

    # 2100 * 5/105 = 100; 1200 * 20/120 = 200.
    assert result.line("car seat").tax == 100
    assert result.line("mug").tax == 200


def test_line_without_matching_rate_is_untaxed() -> None:
    result = compute_tax(
        [TaxLineInput("mug", 1200)],
        [GB_VAT],
        Destination("FR"),
        prices_include_tax=True,
    )

    assert result.line("mug").tax == 0
    assert result.line("mug").net == 1200


# Jurisdictions ----------------------------------------------------------------


def test_oss_registration_taxes_at_destination() -> None:
    registrations = [Registration("home", "GB"), Registration("oss", "DE")]

    jurisdiction = jurisdiction_for(
        "GB", registrations, Destination("DE", postcode="10115")
    )

    assert jurisdiction == Jurisdiction(
        "DE", None, "EU One-Stop Shop registration: German VAT at the destination"
    )


def test_berlin_gets_german_standard_rate() -> None:
    result = compute_tax(
        [TaxLineInput("lamp", 11900)],
        default_rates_of("DE"),
        Destination("DE", postcode="10115"),
        prices_include_tax=True,
    )

    # 11900 * 19/119 = 1900.
    assert result.line("lamp").tax == 1900
    assert result.line("lamp").net == 10000


def test_heligoland_postcode_gets_exception_rate() -> None:
    registrations = [Registration("home", "GB"), Registration("oss", "DE")]
    heligoland = Destination("DE", postcode="27498", city="Helgoland")
    jurisdiction = jurisdiction_for("GB", registrations, heligoland)
    assert jurisdiction is not None

    result = compute_tax(
        [TaxLineInput("lamp", 11900)],
        default_rates_of(jurisdiction.country),
        jurisdiction.rated_destination(heligoland),
        prices_include_tax=True,
    )

    lamp = result.line("lamp")
    assert [c.name for c in lamp.components] == ["VAT (Heligoland)"]
    assert lamp.components[0].rate == Decimal("0")
    assert lamp.tax == 0
    assert lamp.net == 11900


def test_export_to_us_without_registration_is_untaxed() -> None:
    jurisdiction, reason = explain_jurisdiction(
        "GB", [Registration("home", "GB")], Destination("US", "CA", "94103")
    )

    assert jurisdiction is None
    assert reason == "export outside registrations: no tax"


def test_us_state_without_nexus_is_untaxed() -> None:
    registrations = [Registration("home", "GB"), Registration("us_state", "US", "NY")]

    jurisdiction, reason = explain_jurisdiction(
        "GB", registrations, Destination("US", "OR", "97201")
    )

    assert jurisdiction is None
    assert reason == "no sales tax nexus in Oregon: no tax"


def test_us_state_with_nexus_is_taxed_there() -> None:
    registrations = [Registration("home", "GB"), Registration("us_state", "US", "NY")]

    jurisdiction = jurisdiction_for("GB", registrations, Destination("US", "ny"))

    assert jurisdiction is not None
    assert jurisdiction.country == "US"
    assert jurisdiction.region == "NY"
    assert jurisdiction.reason == "sales tax nexus in New York: New York sales tax"


def test_us_shop_collects_only_in_home_state() -> None:
    registrations = [Registration("home", "US", "TX")]

    texas = jurisdiction_for("US", registrations, Destination("US", "US-TX"))
    ohio = jurisdiction_for("US", registrations, Destination("US", "OH"))

    assert texas is not None
    assert texas.region == "TX"
    assert ohio is None


def test_us_shop_without_state_uses_home_rules() -> None:
    jurisdiction = jurisdiction_for("US", [], Destination("US", "CA"))

    assert jurisdiction is not None
    assert (jurisdiction.country, jurisdiction.region) == ("US", "CA")


def test_domestic_sale_uses_home_rules() -> None:
    jurisdiction = jurisdiction_for(
        "GB", [Registration("home", "GB")], Destination("gb", postcode="SW1A 1AA")
    )

    assert jurisdiction == Jurisdiction(
        "GB", None, "sale within the home country: UK VAT applies"
    )


def test_eu_shop_without_oss_charges_home_vat() -> None:
    dest = Destination("FR", postcode="75001")

    jurisdiction = jurisdiction_for("DE", [Registration("home", "DE")], dest)

    assert jurisdiction is not None
    assert jurisdiction.country == "DE"
    assert "below the EUR 10,000 distance-selling threshold" in jurisdiction.reason
    assert jurisdiction.rated_destination(dest) == Destination("DE", None)


def test_eu_shop_without_oss_rates_at_german_standard() -> None:
    dest = Destination("IT", postcode="23041")
    jurisdiction = jurisdiction_for("DE", [], dest)
    assert jurisdiction is not None

    result = compute_tax(
        [TaxLineInput("lamp", 11900)],
        default_rates_of("DE"),
        jurisdiction.rated_destination(dest),
        prices_include_tax=True,
    )

    assert result.line("lamp").tax == 1900


def test_non_eu_shop_without_oss_exports_to_eu() -> None:
    jurisdiction = jurisdiction_for(
        "GB", [Registration("home", "GB")], Destination("FR")
    )

    assert jurisdiction is None


def test_country_registration_taxes_at_destination() -> None:
    registrations = [Registration("home", "GB"), Registration("country", "NO")]

    jurisdiction = jurisdiction_for("GB", registrations, Destination("NO"))

    assert jurisdiction == Jurisdiction(
        "NO", None, "tax registration in Norway: the tax of Norway applies"
    )


# Rounding per line against per order ------------------------------------------


def three_small_lines() -> list[TaxLineInput]:
    # Each line is 0.50 including 20 % VAT, so 50 * 20/120 = 8.333... cents
    # (0.0833 in pounds) of tax.
    return [TaxLineInput("a", 50), TaxLineInput("b", 50), TaxLineInput("c", 50)]


def test_line_rounding_of_three_small_lines() -> None:
    result = compute_tax(
        three_small_lines(), [GB_VAT], Destination("GB"), prices_include_tax=True
    )

    assert [line.tax for line in result.lines] == [8, 8, 8]
    assert [line.net for line in result.lines] == [42, 42, 42]
    assert result.totals[0].amount == 24


def test_order_rounding_of_three_small_lines() -> None:
    result = compute_tax(
        three_small_lines(),
        [GB_VAT],
        Destination("GB"),
        prices_include_tax=True,
        rounding="order",
    )

    # 3 * 8.333... = 25 once per order; the floors 8 + 8 + 8 leave one cent,
    # which goes to the first of the equal remainders.
    assert result.totals[0].amount == 25
    assert [line.tax for line in result.lines] == [9, 8, 8]
    assert [line.net for line in result.lines] == [41, 42, 42]
    assert sum(line.tax for line in result.lines) == result.totals[0].amount


def test_rounding_choice_is_recorded() -> None:
    result = compute_tax(
        three_small_lines(),
        [GB_VAT],
        Destination("GB"),
        prices_include_tax=True,
        rounding="order",
        currency_exponent=0,
    )

    assert result.rounding == "order"
    assert result.prices_include_tax is True
    assert result.currency_exponent == 0


# Compound rates ---------------------------------------------------------------


def test_compound_rate_on_net_prices() -> None:
    result = compute_tax(
        [TaxLineInput("desk", 10000)],
        [GST, QST],
        Destination("CA", "QC"),
        prices_include_tax=False,
    )

    gst, qst = result.line("desk").components
    # GST: 10000 * 5 % = 500.
    assert (gst.taxable, gst.amount) == (10000, 500)
    # QST compounds: (10000 + 500) * 9.975 % = 1047.375 -> 1047.
    assert (qst.taxable, qst.amount, qst.compound) == (10500, 1047, True)
    assert result.line("desk").tax == 1547
    assert result.line("desk").gross == 11547


def test_compound_rate_on_inclusive_prices() -> None:
    result = compute_tax(
        [TaxLineInput("desk", 11547)],
        [GST, QST],
        Destination("CA", "QC"),
        prices_include_tax=True,
    )

    # Multiplier 1 + 0.05 + 1.05 * 0.09975 = 1.1547375, so the tax is
    # 11547 * 0.1547375 / 1.1547375 = 1547.30 -> 1547 and the net 10000.
    desk = result.line("desk")
    assert desk.tax == 1547
    assert desk.net == 10000
    assert [c.amount for c in desk.components] == [500, 1047]


def test_inclusive_last_component_takes_remainder() -> None:
    first = TaxRate("GB", None, None, None, Decimal("10"), "Levy A")
    second = TaxRate("GB", None, None, None, Decimal("10"), "Levy B", priority=2)

    result = compute_tax(
        [TaxLineInput("mug", 1205)],
        [first, second],
        Destination("GB"),
        prices_include_tax=True,
    )

    # 1205 * 20/120 = 200.83 -> 201; each levy is 100.42 exactly, so the
    # first rounds to 100 and the second takes the remaining 101.
    mug = result.line("mug")
    assert mug.tax == 201
    assert [c.amount for c in mug.components] == [100, 101]
    assert mug.net == 1004


# Postcode and city patterns and specificity -----------------------------------


def test_postcode_wildcard_matches_prefix() -> None:
    cardiff = TaxRate("GB", None, "CF*", None, Decimal("0"), "Cardiff test rate")

    matched = matching_rates([GB_VAT, cardiff], Destination("GB", postcode="cf10 1aa"))
    unmatched = matching_rates([GB_VAT, cardiff], Destination("GB", postcode="SW1A"))

    assert matched == [cardiff]
    assert unmatched == [GB_VAT]


def test_postcode_numeric_range_matches_inside_bounds() -> None:
    la = TaxRate("US", "CA", "90001...90099", None, Decimal("2.5"), "LA district")
    state = TaxRate("US", "CA", None, None, Decimal("7.25"), "CA State Tax")

    def picked(postcode: str) -> str:
        return matching_rates([state, la], Destination("US", "CA", postcode))[0].name

    assert picked("90001") == "LA district"
    assert picked("90050") == "LA district"
    assert picked("90099") == "LA district"
    assert picked("90100") == "CA State Tax"
    assert picked("9005") == "CA State Tax"
    assert picked("900500") == "CA State Tax"
    assert picked("90050-1234") == "LA district"


def test_postcode_list_with_exact_codes() -> None:
    rate = TaxRate("US", "AL", "12345; 123456", None, Decimal("2"), "US AL")

    assert matching_rates([rate], Destination("US", "AL", "123456")) == [rate]
    assert matching_rates([rate], Destination("US", "AL", "12346")) == []


def test_rate_with_postcode_needs_destination_postcode() -> None:
    rate = TaxRate("DE", None, "27498", None, Decimal("0"), "VAT (Heligoland)")

    assert matching_rates([rate], Destination("DE")) == []


def test_city_list_matches_case_insensitively() -> None:
    rate = TaxRate("US", "NY", None, "NEW YORK;BROOKLYN", Decimal("4.875"), "NYC")

    assert matching_rates([rate], Destination("US", "NY", city="Brooklyn")) == [rate]
    assert matching_rates([rate], Destination("US", "NY", city="Albany")) == []


def test_most_specific_rate_wins_within_a_priority() -> None:
    anywhere = TaxRate("*", None, None, None, Decimal("1"), "any country")
    country = TaxRate("US", None, None, None, Decimal("2"), "country")
    region = TaxRate("US", "CA", None, None, Decimal("3"), "region")
    postcode = TaxRate("US", None, "90210", None, Decimal("4"), "postcode")
    rates = [postcode, region, country, anywhere]

    def picked(dest: Destination) -> str:
        return matching_rates(rates, dest)[0].name

    assert picked(Destination("US", "CA", "90210")) == "postcode"
    assert picked(Destination("US", "CA", "94103")) == "region"
    assert picked(Destination("US", "TX", "73301")) == "country"
    assert picked(Destination("FR", None, "75001")) == "any country"


def test_one_rate_per_priority_sorted_by_priority() -> None:
    picked = matching_rates([NYC_LOCAL, NY_STATE], NYC)

    assert picked == [NY_STATE, NYC_LOCAL]


# Errors -----------------------------------------------------------------------


def test_unknown_country_raises_naming_the_field() -> None:
    with pytest.raises(UnknownDestination) as caught:
        jurisdiction_for("GB", [], Destination("UK"))

    assert caught.value.field == "country"
    assert caught.value.value == "UK"
    assert "'UK' is not an ISO 3166-1 alpha-2 code" in str(caught.value)


def test_compute_tax_rejects_unknown_country() -> None:
    with pytest.raises(UnknownDestination) as caught:
        compute_tax(
            [TaxLineInput("mug", 100)],
            [GB_VAT],
            Destination("XX"),
            prices_include_tax=True,
        )

    assert caught.value.field == "country"


def test_missing_us_state_with_nexus_raises() -> None:
    registrations = [Registration("us_state", "US", "NY")]

    with pytest.raises(UnknownDestination) as caught:
        jurisdiction_for("GB", registrations, Destination("US", None, "10001"))

    assert caught.value.field == "region"
    assert caught.value.value is None
    assert "destination region is missing" in str(caught.value)


def test_invalid_us_state_with_nexus_raises() -> None:
    registrations = [Registration("us_state", "US", "NY")]

    with pytest.raises(UnknownDestination) as caught:
        jurisdiction_for("GB", registrations, Destination("US", "XX"))

    assert caught.value.field == "region"
    assert str(caught.value) == (
        "destination region 'XX' is not a US state code; "
        "correct the order's shipping state"
    )


def test_armed_forces_code_is_a_us_state() -> None:
    registrations = [Registration("us_state", "US", "NY")]

    assert jurisdiction_for("GB", registrations, Destination("US", "AE")) is None


def test_per_region_table_needs_destination_region() -> None:
    us_rates = default_rates_of("US")

    with pytest.raises(UnknownDestination) as caught:
        compute_tax(
            [TaxLineInput("mug", 100)],
            us_rates,
            Destination("US", None, "10001"),
            prices_include_tax=False,
        )

    assert caught.value.field == "region"
    assert "defined per region" in str(caught.value)


def test_invalid_us_state_registration_raises() -> None:
    with pytest.raises(InvalidRegistration) as caught:
        jurisdiction_for("GB", [Registration("us_state", "US")], Destination("GB"))

    assert caught.value.field == "registration.region"


def test_invalid_us_home_state_raises() -> None:
    with pytest.raises(InvalidRegistration) as caught:
        jurisdiction_for("US", [Registration("home", "US", "ZZ")], Destination("US"))

    assert caught.value.field == "registration.region"


def test_invalid_shop_country_raises() -> None:
    with pytest.raises(InvalidRegistration) as caught:
        jurisdiction_for("England", [], Destination("GB"))

    assert caught.value.field == "shop_country"


def test_unknown_rounding_mode_raises() -> None:
    with pytest.raises(TaxError) as caught:
        compute_tax(
            [],
            [GB_VAT],
            Destination("GB"),
            prices_include_tax=True,
            rounding="invoice",  # type: ignore[arg-type]
        )

    assert caught.value.field == "rounding"


def test_tax_errors_share_one_root() -> None:
    assert issubclass(UnknownDestination, TaxError)
    assert issubclass(InvalidRegistration, TaxError)


# Invariants over random orders ------------------------------------------------

RATE_CHOICES = [Decimal("20"), Decimal("7.25"), Decimal("4.875"), Decimal("9.975")]

amounts = st.lists(st.integers(min_value=-100_000, max_value=1_000_000), max_size=8)
rate_sets = st.lists(st.sampled_from(RATE_CHOICES), min_size=1, max_size=3)


def rates_from(percentages: list[Decimal], compound_last: bool) -> list[TaxRate]:
    rates = []
    for priority, percentage in enumerate(percentages, start=1):
        compound = compound_last and priority == len(percentages) and priority > 1
        rates.append(
            TaxRate(
                "GB",
                None,
                None,
                None,
                percentage,
                f"tax {priority}",
                priority=priority,
                compound=compound,
            )
        )
    return rates


@given(amounts, rate_sets, st.booleans(), st.booleans())
def test_order_rounding_lines_sum_to_totals(
    values: list[int], percentages: list[Decimal], inclusive: bool, compound: bool
) -> None:
    lines = [TaxLineInput(str(i), value) for i, value in enumerate(values)]
    rates = rates_from(percentages, compound)

    result = compute_tax(
        lines, rates, Destination("GB"), prices_include_tax=inclusive, rounding="order"
    )

    for total in result.totals:
        allocated = sum(
            c.amount
            for line in result.lines
            for c in line.components
            if (c.name, c.rate) == (total.name, total.rate)
        )
        assert allocated == total.amount


@given(amounts, rate_sets, st.booleans(), st.sampled_from(["line", "order"]))
def test_inclusive_lines_keep_their_gross(
    values: list[int], percentages: list[Decimal], compound: bool, rounding: str
) -> None:
    lines = [TaxLineInput(str(i), value) for i, value in enumerate(values)]

    result = compute_tax(
        lines,
        rates_from(percentages, compound),
        Destination("GB"),
        prices_include_tax=True,
        rounding=rounding,  # type: ignore[arg-type]
    )

    for line, source in zip(result.lines, lines, strict=True):
        assert line.net + line.tax == source.amount
        assert sum(c.amount for c in line.components) == line.tax
