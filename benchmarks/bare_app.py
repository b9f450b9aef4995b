"""The yardstick: a bare Flask JSON endpoint shaped like check-inventory, no validation, no database."""

from flask import Flask, jsonify

REPORT = {
    "productId": "P1001",
    "sku": "P1001-BLACK-M",
    "attributes": {"size": "M", "color": "Black"},
    "onlineStatus": "in_stock",
    "onlineStockLevel": 54,
    "warehouses": [{"warehouseId": "WH-MUM", "name": "Bhiwandi Fulfilment Centre", "city": "Mumbai", "stockLevel": 4}],
    "availableStores": [
        {
            "storeId": "ST-MUM-01",
            "name": "Phoenix Palladium, Lower Parel",
            "city": "Mumbai",
            "address": "462 Senapati Bapat Marg, Lower Parel",
            "stockLevel": 3,
            "stockDescriptor": "few_left",
        }
    ],
    "fulfillmentOptions": ["ship_to_home", "click_and_collect", "reserve_in_store"],
}


def create_app() -> Flask:
    app = Flask("bare")

    @app.post("/check-inventory")
    def check_inventory():
        return jsonify(REPORT)

    return app
