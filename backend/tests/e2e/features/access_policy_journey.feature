Feature: Deciding who may do what
  As the administrator
  I want to change the access policy while Strata runs
  So that people get the permissions they need, and lose them when they no longer do

  Scenario: An admin grants users a permission and takes it back
    Given I am logged in as the administrator
    And a user has signed up and logged in
    Then the user may not read the audit trail
    When I allow users to read the audit trail
    Then the user may read the audit trail
    When I take that permission away again
    Then the user may not read the audit trail
    And the audit trail records that I granted and revoked the permission
