"""A new shopper with an opaque id buys, is enrolled by their first order's points, tracks and returns it;
another opaque shopper cannot see it; a malformed id is a 400 naming userId on every post-purchase operation."""

from __future__ import annotations

import pytest
from orders import place_order

from agentkit.contracts import load_contract


def post(client, path, status, **body):
    reply = client.post(path, json=body)
    assert reply.status_code == status, (path, reply.get_json())
    return reply.get_json()


def test_a_new_opaque_shopper_buys_earns_tracks_and_returns(system):
    shopper = "web-7f3a2c"
    order = place_order(system, shopper, [("P1001", "M", "Black", 1)], deliver=True)  # ₹4,999
    oid = order["orderId"]
    loyalty, pp = system.client("loyalty"), system.client("post-purchase")
    earned = post(loyalty, "/earn-points", 201, userId=shopper, orderId=oid)
    assert (earned["pointsEarned"], earned["tier"]) == (49, "bronze")  # enrolled by the first order

    status = post(pp, "/get-order-status", 200, orderId=oid, userId=shopper)
    assert status["userId"] == shopper and status["returnEligible"] is True
    post(pp, "/get-order-status", 404, orderId=oid, userId="alice@example.com")  # not hers

    done = post(pp, "/initiate-return", 201, orderId=oid, userId=shopper, reason="changed_mind")
    assert done["status"] == "refunded" and done["refundAmount"] == order["total"]
    assert done["userId"] == shopper and done["pointsTakenBack"] == 49
    assert post(pp, "/get-return-status", 200, returnId=done["returnId"], userId=shopper)["status"] == "refunded"
    post(pp, "/get-return-status", 404, returnId=done["returnId"], userId="alice@example.com")
    member = post(loyalty, "/get-member", 200, userId=shopper)
    assert (member["pointsBalance"], member["tier"]) == (0, "bronze")


@pytest.mark.parametrize("user_id", ["a" * 65, "alice smith"])
def test_a_malformed_shopper_id_is_a_400_naming_user_id_everywhere(system, user_id):
    pp = system.client("post-purchase")
    for op in load_contract("post-purchase").operations.values():
        if "userId" not in op.request_schema.get("properties", {}):
            continue
        body = {**op.examples[0]["request"], "userId": user_id}
        reply = pp.as_caller(op.callers[0]).post(op.path, json=body, headers=op.examples[0].get("headers", {}))
        assert reply.status_code == 400, (op.op_id, reply.get_json())
        assert "userId" in {d["field"] for d in reply.get_json()["error"]["details"]}, (op.op_id, reply.get_json())
