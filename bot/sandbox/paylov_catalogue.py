"""The sandbox's services, test accounts and test cards, in the provider's own shapes (seed 003)."""

from __future__ import annotations

ELECTRICITY = "6ae5eaf5-9b70-4aa9-9260-2438e99affa0"
HOT_WATER = "d2369eff-a542-4d59-90d1-f00c76d0b4e4"
COLD_WATER = "0c1f3b1e-2a4d-4c51-9d7e-1b3c5d7e9f01"
GAS = "1d2e3f40-5b6c-4d7e-8f90-a1b2c3d4e5f6"
WASTE = "2e3f4051-6c7d-4e8f-90a1-b2c3d4e5f607"
INTERNET = "3f405162-7d8e-4f90-a1b2-c3d4e5f60718"
MOBILE = "40516273-8e9f-40a1-b2c3-d4e5f6071829"
INACTIVE = "51627384-9fa0-41b2-c3d4-e5f60718293a"
UNAVAILABLE = "62738495-a0b1-42c3-d4e5-f60718293a4b"

UTILITIES = {"id": 3, "name": "Коммунальные услуги"}
GAS_CATEGORY = {"id": 4, "name": "Gaz va issiqlik"}
INTERNET_CATEGORY = {"id": 7, "name": "Интернет"}
MOBILE_CATEGORY = {"id": 8, "name": "Мобильная связь"}

RESPONSE_FIELDS = [
    {"field_id": "1311", "name": "fio", "title": "fio", "postfix": None},
    {"field_id": "1312", "name": "address", "title": "address", "postfix": None},
    {"field_id": "1314", "name": "last_paid_date", "title": "last_paid_date", "postfix": None},
    {"field_id": "1315", "name": "last_paid", "title": "last_paid", "postfix": "UZS"},
    {"field_id": "1313", "name": "saldo", "title": "balance", "postfix": "UZS"},
]


def _select(field_id, name, values, dependency_of=None):
    return {"field_id": field_id, "name": name, "title": name, "type": "select", "content": "text",
            "validation": None, "length": None, "required": True, "dependency_of": dependency_of,
            "values": values}


def _text(field_id, name, *, content="number", validation=None, length=None, required=True, title=None):
    return {"field_id": field_id, "name": name, "title": title or name, "type": "text", "content": content,
            "validation": validation, "length": length, "required": required, "dependency_of": None, "values": []}


REGIONS = [
    {"id": 7, "value": "1", "title": "г. Ташкент", "filter": None},
    {"id": 8, "value": "2", "title": "Ташкентская область", "filter": None},
    {"id": 9, "value": "3", "title": "Самаркандская область", "filter": None},
]
DISTRICTS = [
    {"id": 48, "value": "26280", "title": "26280 - Алмазарский ЭСП", "filter": "1"},
    {"id": 49, "value": "26264", "title": "26264 - Бектемирский ЭСП", "filter": "1"},
    {"id": 50, "value": "26290", "title": "26290 - Яшнабадский ЭСП", "filter": "1"},
    {"id": 61, "value": "27206", "title": "27206 - Бекабадский ЭСП", "filter": "2"},
    {"id": 62, "value": "27212", "title": "27212 - Бостанлыкский ЭСП", "filter": "2"},
    {"id": 71, "value": "18203", "title": "18203 - Самаркандский ЭСП", "filter": "3"},
    {"id": 72, "value": "18206", "title": "18206 - Ургутский ЭСП", "filter": "3"},
]


def _service(service_id, name, category, amount, *, info=True, can_cancel=False, active=True, available=True):
    return {"service_id": service_id, "name": name, "category": category, "amount": amount, "is_active": active,
            "has_info_method": info, "can_cancel": can_cancel, "payment_available": available,
            "logo": "https://cdn.paylov.uz/2024/12/05/mobi.png"}


SERVICES = [
    _service(ELECTRICITY, "Плата за электроэнергию", UTILITIES, {"min": 500, "max": 5000000}),
    _service(HOT_WATER, "Горячая вода и отопление", UTILITIES, {"min": 500, "max": 3000000}),
    _service(COLD_WATER, "Sovuq suv", UTILITIES, {"min": 500, "max": 3000000}),
    _service(WASTE, "Чиқинди олиб кетиш (Maxsustrans)", UTILITIES, {"min": 500, "max": 1000000}),
    _service(GAS, "Hududgaz: Tabiiy gaz", GAS_CATEGORY, {"min": 500, "max": 5000000}),
    _service(INTERNET, "Uzonline Internet", INTERNET_CATEGORY, {"min": 1000, "max": 5000000}, can_cancel=True),
    _service(MOBILE, "Beeline", MOBILE_CATEGORY, {"min": 1000, "max": 1000000}, info=False, can_cancel=True),
    _service(INACTIVE, "Старый тариф (закрыт)", UTILITIES, {"min": 500, "max": 1000000}, active=False),
    _service(UNAVAILABLE, "Issiq suv (ta'mirlash)", GAS_CATEGORY, {"min": 500, "max": 1000000}, available=False),
]

FIELDS = {
    ELECTRICITY: [
        _select("9", "region", REGIONS),
        _select("10", "soato", DISTRICTS, dependency_of="region"),
        _text("11", "customer_code"),
    ],
    HOT_WATER: [_text("21", "account", length=8)],
    COLD_WATER: [_text("31", "account", length=8)],
    WASTE: [_text("41", "account", length=8)],
    GAS: [_text("51", "customer_code", length=10)],
    INTERNET: [_text("61", "login", content="text", validation=r"^[a-z0-9_.]{3,32}$")],
    MOBILE: [_text("71", "phone", validation=r"^(90|91)\d{7}$", length=9)],
    INACTIVE: [_text("81", "account")],
    UNAVAILABLE: [_text("91", "account")],
}

# Test accounts: (service, account) -> name, address, saldo (negative = the account owes this much).
ACCOUNTS = {
    (ELECTRICITY, (("region", "1"), ("soato", "26280"), ("customer_code", "1000001"))):
        ("ALIYEV VALI", "Ташкент, Алмазар, ул. Навои 12, кв. 5", "-15105.15 UZS"),
    (ELECTRICITY, (("region", "2"), ("soato", "27206"), ("customer_code", "2000002"))):
        ("KARIMOVA NODIRA", "Бекабад, ул. Мустакиллик 3", "25000.00 UZS"),
    (ELECTRICITY, (("region", "1"), ("soato", "26290"), ("customer_code", "1000003"))):
        ("OOO <Nur & Co> " + "ОЧЕНЬ ДЛИННОЕ НАЗВАНИЕ ОРГАНИЗАЦИИ " * 12, "Ташкент, <Яшнабад> & Co, дом 1",
         "-1000.50 UZS"),
    (HOT_WATER, (("account", "10000001"),)): ("TOSHMATOV ALI", "Ташкент, Чиланзар 9-5-12", "-48200.00 UZS"),
    (HOT_WATER, (("account", "10000002"),)): ("SAIDOVA MALIKA", "Ташкент, Юнусабад 4-7", "12000.00 UZS"),
    (COLD_WATER, (("account", "20000001"),)): ("RAHIMOV BOBUR", "Samarqand, Registon 1", "-7350.40 UZS"),
    (COLD_WATER, (("account", "20000002"),)): ("ERGASHEVA ZARINA", "Samarqand, Bog'ishamol 8", "3500.00 UZS"),
    (WASTE, (("account", "30000001"),)): ("YUSUPOV SHERZOD", "Ташкент, Сергели 5", "-9000.00 UZS"),
    (WASTE, (("account", "30000002"),)): ("ABDULLAEV RUSTAM", "Ташкент, Учтепа 11-40", "6000.00 UZS"),
    (GAS, (("customer_code", "4000000001"),)): ("NAZAROVA DILNOZA", "Toshkent, Olmazor 14", "-63000.00 UZS"),
    (GAS, (("customer_code", "4000000002"),)): ("QODIROV JASUR", "Toshkent, Mirobod 2", "5000.00 UZS"),
    (INTERNET, (("login", "aziz_home"),)): ("AZIZOV AZIZ", "Ташкент, Шайхантахур 7", "-120000.00 UZS"),
    (INTERNET, (("login", "malika.office"),)): ("SAIDOVA MALIKA", "Ташкент, Мирабад 3", "45000.00 UZS"),
}

# Seed 001's test cards (expiry 03/99, code 666666): outcome and balance in tiyin.
TEST_CARDS = {
    "8600069195406311": ("ok", 500_000_000),
    "8600495473316478": ("ok", 2_000_000),
    "3333336415804657": ("card_expired", 0),
    "4444445987459073": ("card_is_blocked", 0),
    "8600060921090842": ("sms_not_active", 0),
    "8600143417770323": ("unknown_error", 0),
    "8600134301849596": ("slow", 0),
}
TEST_EXPIRY = "9903"
OTP = "666666"
CARD_OWNER = "TEST USER"
# Any other Luhn-valid UzCard/HUMO number binds with this balance (tiyin); other prefixes are refused.
SUPPORTED_PREFIXES = ("8600", "9860")
DEFAULT_BALANCE = 100_000_000
TEST_PHONE = "998901234567"

# The merchant's settlement card: pays at Paylov the bills whose money a Payme receipt took from the user's card.
SETTLEMENT_CARD_ID = "merchant-settlement-0001"
SETTLEMENT_CARD_NUMBER = "8600990000000007"
SETTLEMENT_BALANCE = 10_000_000_000  # tiyin: 100 million sums

# The sandbox's test user: the demo's default Telegram id. A live-Telegram tester can start the demo with their own
# --user-id; these payments were "made in another app", so history shows the merge with our own ledger.
SANDBOX_USER_ID = "1001"


def seed_outside_payments(sandbox) -> None:
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone(timedelta(hours=5))).replace(tzinfo=None)  # the provider writes Tashkent time
    sandbox.add_outside_payment(SANDBOX_USER_ID, GAS, 45000, now - timedelta(days=3), "986034******8885",
                                "TEST USER")
    sandbox.add_outside_payment(SANDBOX_USER_ID, MOBILE, 20000, now - timedelta(days=35), "986034******8885",
                                "TEST USER")
