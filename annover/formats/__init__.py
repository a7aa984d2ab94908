"""Readers and writers between the formats people label and train with and annover's tables."""
