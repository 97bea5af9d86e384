-- +goose Up
-- Standard objects take Twenty's composite fields: a person's firstName
-- and lastName become name {firstName, lastName}, email emails
-- {primaryEmail, additionalEmails}, phone phones {...}; a company's
-- domainName and address strings become a link and an address; an
-- opportunity's amount and currencyCode become amount {amountMicros,
-- currencyCode}; a note's or task's body becomes bodyV2 {blocknote,
-- markdown}. Records keep every value, in the new place.
UPDATE records SET data = (data - 'firstName' - 'lastName') || jsonb_build_object('name', jsonb_build_object(
        'firstName', coalesce(data ->> 'firstName', ''), 'lastName', coalesce(data ->> 'lastName', '')))
    WHERE object = 'person' AND (data ? 'firstName' OR data ? 'lastName');
UPDATE records SET data = (data - 'email') || jsonb_build_object('emails', jsonb_build_object(
        'primaryEmail', coalesce(data ->> 'email', ''), 'additionalEmails', NULL))
    WHERE object = 'person' AND data ? 'email';
UPDATE records SET data = (data - 'phone') || jsonb_build_object('phones', jsonb_build_object(
        'primaryPhoneNumber', coalesce(data ->> 'phone', ''), 'primaryPhoneCountryCode', '',
        'primaryPhoneCallingCode', '', 'additionalPhones', NULL))
    WHERE object = 'person' AND data ? 'phone';
UPDATE records SET data = data || jsonb_build_object('domainName', jsonb_build_object(
        'primaryLinkLabel', '', 'primaryLinkUrl', data ->> 'domainName', 'secondaryLinks', NULL))
    WHERE object = 'company' AND jsonb_typeof(data -> 'domainName') = 'string';
UPDATE records SET data = data || jsonb_build_object('address', jsonb_build_object(
        'addressStreet1', data ->> 'address', 'addressStreet2', '', 'addressCity', '', 'addressPostcode', '',
        'addressState', '', 'addressCountry', '', 'addressLat', NULL, 'addressLng', NULL))
    WHERE object = 'company' AND jsonb_typeof(data -> 'address') = 'string';
UPDATE records SET data = (data - 'currencyCode') || jsonb_build_object('amount', jsonb_build_object(
        'amountMicros', CASE WHEN jsonb_typeof(data -> 'amount') = 'number'
            THEN round((data ->> 'amount')::numeric * 1000000) END,
        'currencyCode', coalesce(data ->> 'currencyCode', '')))
    WHERE object = 'opportunity' AND (jsonb_typeof(data -> 'amount') = 'number' OR data ? 'currencyCode');
UPDATE records SET data = (data - 'body') || jsonb_build_object('bodyV2', jsonb_build_object(
        'blocknote', NULL, 'markdown', data ->> 'body'))
    WHERE object IN ('note', 'task') AND jsonb_typeof(data -> 'body') = 'string';

-- +goose Down
SELECT 1;
