"""The offline model's vocabulary: categories, sizes, colours, cities, seasons and intent keywords.

The lists are kept in code on purpose. They were built from the seed catalog's categories, sizes and
colours (seed-draft/catalog.json) plus the everyday words shoppers use for them, but the model never
reads catalog data at runtime: every product fact it states comes from a tool result.
"""
from __future__ import annotations

# --- categories -------------------------------------------------------------------------------
# word -> (catalog category or None, product-type term for the search query or None)
CATEGORY_WORDS: dict[str, tuple[str | None, str | None]] = {
    # jackets
    "jacket": ("jackets", None), "jackets": ("jackets", None), "coat": ("jackets", "coat"),
    "coats": ("jackets", "coat"), "outerwear": ("jackets", None), "puffer": ("jackets", "puffer"),
    "puffers": ("jackets", "puffer"), "parka": ("jackets", "parka"), "parkas": ("jackets", "parka"),
    "overcoat": ("jackets", "overcoat"), "trench": ("jackets", "trench"), "bomber": ("jackets", "bomber"),
    "bombers": ("jackets", "bomber"), "fleece": ("jackets", "fleece"), "shacket": ("jackets", "shacket"),
    "raincoat": ("jackets", "rain"), "windcheater": ("jackets", "shell"), "blazer": ("jackets", None),
    # tops
    "tops": ("tops", None), "shirt": ("tops", "shirt"), "shirts": ("tops", "shirt"),
    "tshirt": ("tops", "t-shirt"), "tshirts": ("tops", "t-shirt"), "t-shirt": ("tops", "t-shirt"),
    "t-shirts": ("tops", "t-shirt"), "tee": ("tops", "tee"), "tees": ("tops", "tee"),
    "blouse": ("tops", "blouse"), "blouses": ("tops", "blouse"), "sweater": ("tops", "sweater"),
    "sweaters": ("tops", "sweater"), "turtleneck": ("tops", "turtleneck"), "jumper": ("tops", "sweater"),
    "pullover": ("tops", "sweater"), "kurti": ("tops", "kurti"), "kurtis": ("tops", "kurti"),
    # kurtas live in tops and in ethnicwear (sets): search by term only
    "kurta": (None, "kurta"), "kurtas": (None, "kurta"),
    # bottoms
    "bottoms": ("bottoms", None), "jeans": ("bottoms", "jeans"), "denims": ("bottoms", "jeans"),
    "trousers": ("bottoms", "trousers"), "trouser": ("bottoms", "trousers"), "pants": ("bottoms", None),
    "chinos": ("bottoms", "chinos"), "cargo": ("bottoms", "cargo"), "cargos": ("bottoms", "cargo"),
    "palazzo": ("bottoms", "palazzo"), "palazzos": ("bottoms", "palazzo"), "skirt": ("bottoms", "skirt"),
    "skirts": ("bottoms", "skirt"),
    # dresses
    "dress": ("dresses", None), "dresses": ("dresses", None), "gown": ("dresses", None),
    "gowns": ("dresses", None), "frock": ("dresses", None),
    # footwear
    "footwear": ("footwear", None), "shoes": ("footwear", None), "shoe": ("footwear", None),
    "sneakers": ("footwear", "sneakers"), "sneaker": ("footwear", "sneakers"), "trainers": ("footwear", "sneakers"),
    "boots": ("footwear", "boots"), "boot": ("footwear", "boots"), "sandals": ("footwear", None),
    "chappals": ("footwear", "kolhapuri"), "kolhapuris": ("footwear", "kolhapuri"),
    "juttis": ("footwear", "jutti"), "jutti": ("footwear", "jutti"), "brogues": ("footwear", "brogues"),
    "slides": ("footwear", "slides"), "flipflops": ("footwear", "slides"), "heels": ("footwear", None),
    # accessories
    "accessories": ("accessories", None), "accessory": ("accessories", None), "bag": ("accessories", "bag"),
    "bags": ("accessories", "bag"), "handbag": ("accessories", "bag"), "tote": ("accessories", "tote"),
    "backpack": ("accessories", "backpack"), "scarf": ("accessories", "scarf"), "scarves": ("accessories", "scarf"),
    "stole": ("accessories", "stole"), "stoles": ("accessories", "stole"), "muffler": ("accessories", "muffler"),
    "belt": ("accessories", "belt"), "belts": ("accessories", "belt"), "sunglasses": ("accessories", "sunglasses"),
    "shades": ("accessories", "sunglasses"), "cap": ("accessories", "cap"), "caps": ("accessories", "cap"),
    "beanie": ("accessories", "beanie"), "beanies": ("accessories", "beanie"), "hat": ("accessories", None),
    "potli": ("accessories", "potli"), "clutch": ("accessories", "bag"),
    # activewear
    "activewear": ("activewear", None), "sportswear": ("activewear", None), "gymwear": ("activewear", None),
    "leggings": ("activewear", "leggings"), "joggers": ("activewear", "track"), "trackpants": ("activewear", "track"),
    "shorts": ("activewear", "shorts"), "bra": ("activewear", "bra"), "yoga": ("activewear", None),
    "gym": ("activewear", None), "workout": ("activewear", None), "running": ("activewear", "running"),
    # ethnicwear
    "ethnicwear": ("ethnicwear", None), "ethnic": ("ethnicwear", None), "saree": ("ethnicwear", "saree"),
    "sarees": ("ethnicwear", "saree"), "sari": ("ethnicwear", "saree"), "saris": ("ethnicwear", "saree"),
    "lehenga": ("ethnicwear", None), "bandhgala": ("ethnicwear", "bandhgala"), "sherwani": ("ethnicwear", None),
    "anarkali": ("ethnicwear", "anarkali"), "pyjama": ("ethnicwear", None),
}
# multi-word category phrases, checked before single words
CATEGORY_PHRASES: dict[str, tuple[str | None, str | None]] = {
    "shirt dress": ("dresses", "shirt dress"), "party dress": ("dresses", "party"),
    "t shirt": ("tops", "t-shirt"), "t shirts": ("tops", "t-shirt"), "track pants": ("activewear", "track"),
    "sports bra": ("activewear", "bra"), "running shoes": ("footwear", "running"),
    "kurta set": ("ethnicwear", "kurta set"), "kurta sets": ("ethnicwear", "kurta set"),
    "ethnic wear": ("ethnicwear", None), "active wear": ("activewear", None), "rain jacket": ("jackets", "rain"),
    "flip flops": ("footwear", "slides"), "tote bag": ("accessories", "tote"),
}
CATEGORIES = ["jackets", "tops", "bottoms", "dresses", "footwear", "accessories", "activewear", "ethnicwear"]
CATEGORY_LABELS = {
    "jackets": "jackets & coats", "tops": "tops, shirts & kurtas", "bottoms": "jeans, trousers & skirts",
    "dresses": "dresses", "footwear": "footwear", "accessories": "bags, scarves & accessories",
    "activewear": "activewear", "ethnicwear": "sarees & ethnic sets",
}
# generic product-type words that do not identify one product when matching names
GENERIC_NAME_WORDS = set(CATEGORY_WORDS) | {
    "set", "sets", "the", "and", "with", "of", "a", "classic", "essential", "everyday", "summer", "winter",
    "high", "rise", "slim", "cotton", "leather", "linen", "silk", "wool",
}

# --- sizes --------------------------------------------------------------------------------------
LETTER_SIZES = ["XS", "S", "M", "L", "XL", "XXL"]
SIZE_WORDS = {
    "extra small": "XS", "x small": "XS", "xsmall": "XS", "small": "S", "medium": "M", "med": "M",
    "large": "L", "extra large": "XL", "x large": "XL", "xlarge": "XL", "double xl": "XXL",
    "extra extra large": "XXL", "2xl": "XXL", "xxl": "XXL", "xl": "XL", "xs": "XS",
}
WAIST_SIZES = [str(n) for n in range(28, 39)]
UK_SIZES = [str(n) for n in range(3, 13)]
ONE_SIZE = "One Size"

# --- colours ------------------------------------------------------------------------------------
# The 28 catalog colours plus a few common ones; spelling variants map to the catalog spelling.
COLOURS = [
    "Beige", "Black", "Blue", "Brown", "Camel", "Charcoal", "Cream", "Emerald", "Gold", "Green", "Grey",
    "Indigo", "Ivory", "Khaki", "Magenta", "Maroon", "Mustard", "Navy", "Olive", "Orange", "Peach", "Pink",
    "Red", "Rust", "Tan", "Teal", "White", "Yellow", "Purple", "Silver", "Lavender", "Burgundy",
]
COLOUR_ALIASES = {
    "gray": "Grey", "navy blue": "Navy", "off white": "Ivory", "off-white": "Ivory", "golden": "Gold",
    "wine": "Maroon", "olive green": "Olive", "sky blue": "Blue", "dark blue": "Navy", "violet": "Purple",
    "colour": None, "color": None,
}

# --- places ---------------------------------------------------------------------------------------
CITIES = {
    "mumbai": "Mumbai", "bombay": "Mumbai", "delhi": "Delhi", "new delhi": "Delhi", "bengaluru": "Bengaluru",
    "bangalore": "Bengaluru", "blr": "Bengaluru", "chennai": "Chennai", "madras": "Chennai", "pune": "Pune",
    "hyderabad": "Hyderabad", "kolkata": "Kolkata", "calcutta": "Kolkata", "gurugram": "Gurugram",
    "gurgaon": "Gurugram", "noida": "Noida", "ahmedabad": "Ahmedabad", "thane": "Thane",
}

# Store names shoppers say ("the Palladium store", "Select Citywalk"): the seed's ten stores. A store the
# list does not know is left to the city; stores seen in tool results are matched too (intents.py).
STORE_PHRASES = {
    "palladium": "ST-MUM-01", "lower parel": "ST-MUM-01", "infiniti": "ST-MUM-02", "andheri": "ST-MUM-02",
    "select citywalk": "ST-DEL-01", "citywalk": "ST-DEL-01", "saket": "ST-DEL-01",
    "connaught": "ST-DEL-02", "cp store": "ST-DEL-02", "marketcity whitefield": "ST-BLR-01",
    "whitefield": "ST-BLR-01", "orion": "ST-BLR-02", "rajajinagar": "ST-BLR-02", "express avenue": "ST-CHE-01",
    "royapettah": "ST-CHE-01", "viman nagar": "ST-PUN-01", "marketcity pune": "ST-PUN-01",
    "inorbit": "ST-HYD-01", "madhapur": "ST-HYD-01", "south city": "ST-KOL-01", "jodhpur park": "ST-KOL-01",
}

# --- seasons and occasions --------------------------------------------------------------------
SEASONS = {
    "winter": "winter", "winters": "winter", "wintery": "winter", "cold": "winter", "snow": "winter",
    "summer": "summer", "summers": "summer", "beach": "summer",
    "monsoon": "monsoon", "rainy": "monsoon", "rains": "monsoon", "rain": "monsoon",
    "festive": "festive", "festival": "festive", "diwali": "festive", "wedding": "festive", "puja": "festive",
    "eid": "festive", "sangeet": "festive", "warm": "winter", "woollen": "winter", "woolen": "winter",
    "december": "winter", "january": "winter", "february": "winter", "april": "summer", "may": "summer",
    "june": "monsoon", "july": "monsoon", "august": "monsoon", "september": "monsoon",
}
OCCASIONS = {
    "wedding": "festive", "diwali": "festive", "festive": "festive", "festival": "festive", "party": "party",
    "office": "work", "work": "work", "formal": "work", "interview": "work", "gym": "workout",
    "workout": "workout", "running": "workout", "travel": "travel", "trip": "travel", "vacation": "travel",
    "holiday": "travel", "date": "party", "casual": "casual", "gift": "gift", "birthday": "gift",
}

NUMBER_WORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "couple": 2, "pair": 1, "single": 1, "a dozen": 12,
}
ORDINALS = {
    "first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3, "fifth": 4,
    "5th": 4, "top": 0,
}

RETURN_REASONS = {
    "wrong_size": ["too small", "too big", "too tight", "too loose", "doesn't fit", "doesnt fit", "does not fit",
                   "didn't fit", "didnt fit", "wrong size", "size issue", "bigger size", "smaller size", "fit"],
    "damaged": ["damaged", "torn", "defective", "broken", "stain", "stained", "hole", "faulty", "ripped"],
    "not_as_described": ["not as described", "different from", "looks different", "wrong colour", "wrong color",
                         "wrong item", "not what i ordered", "quality"],
    "changed_mind": ["changed my mind", "don't like", "dont like", "didn't like", "didnt like", "don't want",
                     "dont want", "don't need", "no longer", "not needed"],
    "late_delivery": ["late", "delayed", "too long"],
}

# --- intent keywords (also the vocabulary the typo fixer snaps to) ----------------------------
KEYWORDS = {
    "checkout", "check", "cart", "basket", "bag", "order", "orders", "return", "returns", "refund", "exchange",
    "replace", "receipt", "invoice", "reserve", "reservation", "stock", "available", "availability",
    "recommend", "recommendation", "suggest", "suggestion", "coupon", "promo", "discount", "offers", "offer",
    "points", "loyalty", "rewards", "redeem", "tier", "membership", "profile", "account", "delivery",
    "deliver", "track", "tracking", "shipped", "shipping", "arrive", "status", "remove", "delete", "quantity",
    "payment", "remember", "hello", "thanks", "thank", "search", "browse", "looking", "show", "collection",
    "catalogue", "catalog", "cheaper", "under", "below", "between", "budget", "store", "stores", "nearby",
    "pickup", "collect", "click", "wrapping", "wrap", "gift", "size", "colour", "color", "place", "please",
    "matches", "match", "goes", "pair", "complete", "support", "problem", "complaint", "cancel", "details",
    "describe", "material", "alternatives", "similar", "instead", "policy", "human", "agent",
}
KEYWORDS |= set(CATEGORY_WORDS) | {c.lower() for c in COLOURS} | set(CITIES) | set(SEASONS)
KEYWORDS |= {"medium", "large", "small", "extra", "winter", "summer", "monsoon", "festive"}

# Ordinary words that must never be "corrected" into a keyword.
COMMON_WORDS = set("""
a about above after again all also am an and another any anything are around as at away back be because been
before being best better big bit both but buy by can cannot cant could day did do does doing done dont down
each else even ever every few find fine first for from get gets getting give go going good got great had has
have having he hello help her here hey hi him his how i if in instead into is it its just keep kind know last
least left let like little look looking lot love made make many may maybe me mine more most much must my need
new next nice no not nothing now of off ok okay on once one only or other our out over own pack packet please
pls plz price prices put rather really right same see send she should so some something soon sorry still such
sure take than thank thanks that the their them then there these they thing things think this those though
through to today too try two up us use used very want wanted was way we well went were what when where which
while who why will with would yes yet you your yours also market maybe shop shopping wear wearing bought
mother father wife husband sister brother friend mom dad son daughter kids boy girl men women mens womens
man woman lady ladies gents unisex colours colors sizes tell show sell selling sale cost costs much cheap
item items product products thing one ones pick picks piece pieces unit units total fit fits fitting
hold holding held charge charged pay paying paid card upi cash wallet number ending code
older short shorter stick sticks chick thick quick trick clock block shock black lack track
order ordered ordering cost costs carry care cares caring shock stack start started stuck
weather whether feather leather later latest latter letter better bitter batter matter mater water winner dinner
""".split()) | set("""
change changed changes changing arrange strange stage chance chances choose chose chosen
joke jokes funny weather story help helped helps tried tries trying wait waiting ready steady
color colour sized smaller bigger tighter looser longer wider
""".split())
