-- The codes on household cards (党群连心卡): one for each household and one for each of
-- its residents, random (never derived from an ID number), printed as QR codes. A lost
-- card is reissued: its codes are kept, marked replaced, so that scanning the old card
-- says "this card was replaced" rather than "unknown". A deleted household or resident
-- takes its codes with it: ids can be handed out again, and a new resident must never
-- answer to an old card.
CREATE TABLE card_codes (
    code TEXT PRIMARY KEY,
    household_id BIGINT REFERENCES households (id) ON DELETE CASCADE,
    resident_id BIGINT REFERENCES residents (id) ON DELETE CASCADE,
    issued_at BIGINT NOT NULL,
    replaced_at BIGINT,
    CHECK ((household_id IS NULL) <> (resident_id IS NULL))
);
-- At most one code in use per household and per resident: two printings at once cannot
-- give one household two live cards.
CREATE UNIQUE INDEX card_codes_household ON card_codes (household_id)
    WHERE household_id IS NOT NULL AND replaced_at IS NULL;
CREATE UNIQUE INDEX card_codes_resident ON card_codes (resident_id)
    WHERE resident_id IS NOT NULL AND replaced_at IS NULL;
