Feature: Signing up and protecting my account
  As a new user
  I want to confirm my e-mail address and turn on two-factor sign-in
  So that only I can get into my account

  Scenario: A new user verifies the e-mail, turns on MFA and signs in again with a code
    Given I have registered as "newcomer@example.com"
    And I have logged in with my password
    Then my e-mail address is not verified yet
    When I follow the verification link mailed to me
    Then my e-mail address is verified
    When I turn on two-factor sign-in with my authenticator app
    And I log out
    Then my old session no longer works
    When I log in with my password
    Then I am asked for a code instead of being let in
    When I enter the code my authenticator app shows
    Then I am signed in with two-factor sign-in on
