-- One database per agent: no agent reads another agent's tables.
CREATE DATABASE fulfillment;
CREATE DATABASE recommendation;
CREATE DATABASE inventory;
CREATE DATABASE post_purchase;
CREATE DATABASE payment;
CREATE DATABASE loyalty;
CREATE DATABASE gift_wrapping;
CREATE DATABASE sales;
