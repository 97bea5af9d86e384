-- +goose Up
-- Standard objects take Twenty's composite fields: a person's firstName
-- and lastName become name {firstName, lastName}, email emails
-- {primaryEmail, additionalEmails}, phone phones {...}; a company's
-- domainName and address strings become a link and an address; an
-- opportunity's amount and currencyCode become amount {amountMicros,
-- currencyCode}; a note's or task's body becomes bodyV2 {blocknote,
-- markdown}. Records keep every value, in the new place.
UPDATE records SET data = json_remove(json_set(data, '$.name', json_object(
        'firstName', coalesce(json_extract(data, '$.firstName'), ''),
        'lastName', coalesce(json_extract(data, '$.lastName'), ''))), '$.firstName', '$.lastName')
    WHERE object = 'person' AND (json_type(data, '$.firstName') IS NOT NULL OR json_type(data, '$.lastName') IS NOT NULL);
UPDATE records SET data = json_remove(json_set(data, '$.emails', json_object(
        'primaryEmail', coalesce(json_extract(data, '$.email'), ''), 'additionalEmails', json('null'))), '$.email')
    WHERE object = 'person' AND json_type(data, '$.email') IS NOT NULL;
UPDATE records SET data = json_remove(json_set(data, '$.phones', json_object(
        'primaryPhoneNumber', coalesce(json_extract(data, '$.phone'), ''), 'primaryPhoneCountryCode', '',
        'primaryPhoneCallingCode', '', 'additionalPhones', json('null'))), '$.phone')
    WHERE object = 'person' AND json_type(data, '$.phone') IS NOT NULL;
UPDATE records SET data = json_set(data, '$.domainName', json_object(
        'primaryLinkLabel', '', 'primaryLinkUrl', json_extract(data, '$.domainName'), 'secondaryLinks', json('null')))
    WHERE object = 'company' AND json_type(data, '$.domainName') = 'text';
UPDATE records SET data = json_set(data, '$.address', json_object(
        'addressStreet1', json_extract(data, '$.address'), 'addressStreet2', '', 'addressCity', '', 'addressPostcode', '',
        'addressState', '', 'addressCountry', '', 'addressLat', json('null'), 'addressLng', json('null')))
    WHERE object = 'company' AND json_type(data, '$.address') = 'text';
UPDATE records SET data = json_remove(json_set(data, '$.amount', json_object(
        'amountMicros', CASE WHEN json_type(data, '$.amount') IN ('integer', 'real')
            THEN CAST(round(json_extract(data, '$.amount') * 1000000) AS INTEGER) ELSE json('null') END,
        'currencyCode', coalesce(json_extract(data, '$.currencyCode'), ''))), '$.currencyCode')
    WHERE object = 'opportunity' AND (json_type(data, '$.amount') IN ('integer', 'real') OR json_type(data, '$.currencyCode') IS NOT NULL);
UPDATE records SET data = json_remove(json_set(data, '$.bodyV2', json_object(
        'blocknote', json('null'), 'markdown', json_extract(data, '$.body'))), '$.body')
    WHERE object IN ('note', 'task') AND json_type(data, '$.body') = 'text';

-- +goose Down
SELECT 1;
